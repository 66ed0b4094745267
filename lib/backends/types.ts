// The contract every backend meets. Dimension letters: B batch, I a layer's inputs, O its outputs,
// C classes, D values per image, N images in a dataset.
// Buffers are plain typed arrays owned by TypeScript; kernels work in place and never allocate.

export type BackendName = 'cpu' | 'js' | 'cuda';

/** Adam's hyper-parameters, with torch.optim.Adam's meaning. */
export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

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

/** A dataset handed to an engine once (a GPU engine uploads it): N images of D uint8 values, labels 0..C-1. */
export interface DatasetHandle {
  readonly n: number;
  readonly d: number;
}

/**
 * What the model and the training loop drive. Host engines run Kernels on the model's buffers; a device
 * engine keeps its own copies and syncs them with `download()` / `upload()`.
 */
export interface Engine {
  readonly backend: BackendName;
  /** Layer widths, input first: [784, 500, 10]. */
  readonly sizes: readonly number[];
  /** Largest batch the engine's scratch holds. */
  readonly maxBatch: number;
  /** logits(B,C) for x(B,I). */
  forward(x: Float32Array, B: number, logits: Float32Array): void;
  /** Forward and backward on one batch: fills the gradient buffer, returns the mean loss. */
  computeGradients(x: Float32Array, labels: Int32Array, B: number): number;
  /** One Adam step of all parameters from the current gradients. */
  adamStep(hyper: AdamHyper, step: number): void;
  /** Keeps (or uploads) a uint8 dataset for trainBatch / evaluateDataset. */
  attachDataset(images: Uint8Array, labels: Int32Array, n: number, d: number): DatasetHandle;
  /**
   * Gather batch indices[offset .. offset+B) from the dataset, forward, backward, Adam: one whole step.
   * Returns the batch's mean loss when `wantLoss`, else NaN (a device engine then skips the sync).
   */
  trainBatch(data: DatasetHandle, indices: Int32Array, offset: number, B: number,
    hyper: AdamHyper, step: number, wantLoss: boolean): number;
  /** Summed loss and number correct over the whole dataset, in batches of at most maxBatch. */
  evaluateDataset(data: DatasetHandle): { lossSum: number; correct: number };
  /** Device → host: parameters, gradients and moments into the ParameterBuffers (no-op on the host). */
  download(): void;
  /** Host → device (no-op on the host). */
  upload(): void;
  /** Frees device memory and scratch. */
  dispose(): void;
}

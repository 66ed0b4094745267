// An Engine on host memory: it drives any Kernels (native CPU or pure TS) over the model's flat buffers.
// Layers are Linear with ReLU between; layer l maps sizes[l] inputs to sizes[l+1] outputs.
import type { AdamHyper, BackendName, DatasetHandle, Engine, Kernels, ParameterBuffers } from './types';

interface LayerViews {
  I: number;
  O: number;
  w: Float32Array; // (O, I)
  b: Float32Array; // (O)
  dw: Float32Array; // (O, I)
  db: Float32Array; // (O)
}

export class HostDataset implements DatasetHandle {
  /** 0..n-1, so evaluation can gather batches in order through the same kernel as training. */
  readonly inOrder: Int32Array;
  private nonZeroFraction: number | undefined;
  constructor(readonly images: Uint8Array, readonly labels: Int32Array, readonly n: number, readonly d: number) {
    this.inOrder = new Int32Array(n);
    for (let i = 0; i < n; i++) this.inOrder[i] = i;
  }

  /** The fraction of pixels that are not 0 (MNIST: 0.19), measured once on up to 1,000 images spread over the set. */
  get density(): number {
    if (this.nonZeroFraction === undefined) {
      const samples = Math.min(this.n, 1000);
      let nonZero = 0;
      for (let s = 0; s < samples; s++) {
        const start = Math.floor((s * this.n) / samples) * this.d;
        for (let i = start; i < start + this.d; i++) if (this.images[i] !== 0) nonZero++;
      }
      this.nonZeroFraction = nonZero / Math.max(1, samples * this.d);
    }
    return this.nonZeroFraction;
  }
}

/** Views of each layer's weight and bias inside one flat buffer laid out as PyTorch's state_dict. */
export function layerSlices(sizes: readonly number[], flat: Float32Array): { w: Float32Array; b: Float32Array }[] {
  const slices: { w: Float32Array; b: Float32Array }[] = [];
  let offset = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const I = sizes[l], O = sizes[l + 1];
    const w = flat.subarray(offset, offset + O * I);
    offset += O * I;
    const b = flat.subarray(offset, offset + O);
    offset += O;
    slices.push({ w, b });
  }
  return slices;
}

export class HostEngine implements Engine {
  private readonly layers: LayerViews[];
  private readonly acts: Float32Array[]; // acts[l]: (maxBatch, sizes[l]); acts[0] holds a gathered batch
  private readonly deltas: Float32Array[]; // deltas[l]: (maxBatch, sizes[l]), the loss's gradient there; l ≥ 1
  private readonly batchLabels: Int32Array; // (maxBatch)
  private readonly predictions: Int32Array; // (maxBatch)

  constructor(
    readonly backend: BackendName,
    private readonly kernels: Kernels,
    readonly sizes: readonly number[],
    protected readonly buffers: ParameterBuffers,
    readonly maxBatch: number,
  ) {
    const params = layerSlices(sizes, buffers.params);
    const grads = layerSlices(sizes, buffers.grads);
    this.layers = params.map((p, l) => ({ I: sizes[l], O: sizes[l + 1], w: p.w, b: p.b, dw: grads[l].w, db: grads[l].b }));
    this.acts = sizes.map((s) => new Float32Array(maxBatch * s));
    this.deltas = sizes.map((s, l) => new Float32Array(l === 0 ? 0 : maxBatch * s));
    this.batchLabels = new Int32Array(maxBatch);
    this.predictions = new Int32Array(maxBatch);
  }

  private get classes(): number {
    return this.sizes[this.sizes.length - 1];
  }

  /** Runs the layers from input x(B, sizes[0]); the logits end in acts[L]. */
  private forwardFrom(x: Float32Array, B: number): Float32Array {
    const last = this.layers.length - 1;
    let input = x;
    this.layers.forEach((layer, l) => {
      const out = this.acts[l + 1];
      this.kernels.linearForward(out, input, layer.w, layer.b, B, layer.I, layer.O, l < last);
      input = out;
    });
    return this.acts[this.layers.length];
  }

  /** Backward from the logits' gradient; no gradient is computed for the input itself. */
  private backwardFrom(x: Float32Array, B: number): void {
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const layer = this.layers[l];
      const input = l === 0 ? x : this.acts[l];
      const dx = l === 0 ? null : this.deltas[l];
      this.kernels.linearBackward(dx, layer.dw, layer.db, this.deltas[l + 1], input, layer.w, B, layer.I, layer.O);
      if (dx) this.kernels.reluBackward(dx, this.acts[l], B * layer.I);
    }
  }

  forward(x: Float32Array, B: number, logits: Float32Array): void {
    logits.set(this.forwardFrom(x, B).subarray(0, B * this.classes));
  }

  computeGradients(x: Float32Array, labels: Int32Array, B: number): number {
    const logits = this.forwardFrom(x, B);
    const loss = this.kernels.softmaxCrossEntropy(this.deltas[this.layers.length], logits, labels, B, this.classes);
    this.backwardFrom(x, B);
    return loss;
  }

  adamStep(hyper: AdamHyper, step: number): void {
    const { params, grads, m, v } = this.buffers;
    this.kernels.adamUpdate(params, grads, m, v, params.length, hyper, step);
  }

  attachDataset(images: Uint8Array, labels: Int32Array, n: number, d: number): DatasetHandle {
    return new HostDataset(images, labels, n, d);
  }

  private gather(data: HostDataset, indices: Int32Array, offset: number, B: number): Float32Array {
    this.kernels.gatherBatch(this.acts[0], data.images, indices, offset, B, data.d);
    for (let r = 0; r < B; r++) this.batchLabels[r] = data.labels[indices[offset + r]];
    return this.acts[0];
  }

  trainBatch(data: DatasetHandle, indices: Int32Array, offset: number, B: number, hyper: AdamHyper, step: number): number {
    const x = this.gather(data as HostDataset, indices, offset, B);
    const loss = this.computeGradients(x, this.batchLabels, B); // on the host the loss costs nothing extra
    if (Number.isFinite(loss)) this.adamStep(hyper, step); // a NaN batch leaves the parameters as they were
    return loss;
  }

  evaluateDataset(data: DatasetHandle): { lossSum: number; correct: number } {
    const host = data as HostDataset;
    let lossSum = 0;
    let correct = 0;
    for (let offset = 0; offset < host.n; offset += this.maxBatch) {
      const B = Math.min(this.maxBatch, host.n - offset);
      const logits = this.forwardFrom(this.gather(host, host.inOrder, offset, B), B);
      lossSum += this.kernels.softmaxCrossEntropy(null, logits, this.batchLabels, B, this.classes) * B;
      this.kernels.argmax(this.predictions, logits, B, this.classes);
      for (let r = 0; r < B; r++) if (this.predictions[r] === this.batchLabels[r]) correct++;
    }
    return { lossSum, correct };
  }

  download(): void {}
  upload(): void {}
  dispose(): void {}
}

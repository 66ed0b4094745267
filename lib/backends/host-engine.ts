// An Engine on host memory: the network as a list of ops (input transform, Linear, activation, Dropout, ...),
// walked forward and then backward in reverse, as darknet's forward_network/backward_network do; the walk never
// asks what kind of op it holds. The products run on any Kernels (native CPU or pure TS); the element-wise ops
// (activations, dropout, losses) are TypeScript, O(B·width) next to the products' O(B·width²).
// Dimension letters: B batch, I a layer's inputs, O its outputs, K the network's outputs, D features per sample.
import { invalidArgument } from '../check';
import { hiddenLayerCount, type NetworkSpec } from '../network';
import { activationDerivative, activationForward, type ActivationDerivative, type ActivationFn } from './activations';
import { dropoutScale, fillDropoutMask } from './dropout-mask';
import { lossFunctions } from './losses';
import { adamOnly } from './step-hyper';
import type { AdamHyper, BackendName, DatasetHandle, DropoutSource, Engine, Features, Kernels, OptimizerKind, ParameterBuffers, StepHyper, Targets } from './types';

/** A dataset kept on the host: features (N, D) as given (uint8 pixels or float32) and targets (N) or (N, K). */
export class HostDataset implements DatasetHandle {
  /** 0..n-1, so evaluation can gather batches in order through the same kernel as training. */
  readonly inOrder: Int32Array;
  private nonZeroFraction: number | undefined;
  /** imageWidth: pixels per image row (Engine.attachDataset), 0 when the samples are no images. */
  constructor(readonly features: Features, readonly targets: Targets, readonly n: number, readonly d: number,
    readonly imageWidth = 0) {
    this.inOrder = new Int32Array(n);
    for (let i = 0; i < n; i++) this.inOrder[i] = i;
  }

  /** The uint8 pixels, or null for float features. */
  get images(): Uint8Array | null {
    return this.features instanceof Uint8Array ? this.features : null;
  }

  /** The class indices, or null for float targets. */
  get labels(): Int32Array | null {
    return this.targets instanceof Int32Array ? this.targets : null;
  }

  /** The fraction of features that are not 0 (MNIST: 0.19), measured once on up to 1,000 samples spread over the set. */
  get density(): number {
    if (this.nonZeroFraction === undefined) {
      const samples = Math.min(this.n, 1000);
      let nonZero = 0;
      for (let s = 0; s < samples; s++) {
        const start = Math.floor((s * this.n) / samples) * this.d;
        for (let i = start; i < start + this.d; i++) if (this.features[i] !== 0) nonZero++;
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

/** Values flowing between two ops, (maxBatch, width), and the loss's gradient there (null where none is needed). */
interface Slot {
  values: Float32Array;
  grad: Float32Array | null;
  readonly width: number;
}

/** What one pass needs to know: training (dropout on) or evaluation, and where dropout's masks come from. */
interface Pass {
  training: boolean;
  dropout: DropoutSource | null;
}

/** One op of the network: reads its input slot, writes its output slot; backward the other way. */
interface Op {
  forward(B: number, pass: Pass): void;
  backward(B: number): void;
}

function slot(maxBatch: number, width: number, withGrad: boolean): Slot {
  return { values: new Float32Array(maxBatch * width), grad: withGrad ? new Float32Array(maxBatch * width) : null, width };
}

/** x' = (x − mean) / std per feature, in float32 as torchvision's Normalize (sub_ then div_). No gradient. */
class InputTransformOp implements Op {
  constructor(private readonly input: Slot, private readonly output: Slot,
    private readonly mean: Float32Array, private readonly std: Float32Array) {}
  forward(B: number): void {
    const D = this.input.width, x = this.input.values, y = this.output.values; // x(B,D), y(B,D)
    for (let r = 0; r < B; r++) {
      for (let d = 0; d < D; d++) y[r * D + d] = Math.fround(x[r * D + d] - this.mean[d]) / this.std[d];
    }
  }
  backward(): void {} // the input needs no gradient
}

/**
 * out(B,O) = x(B,I) · w(O,I)ᵀ + b(O), with ReLU fused into the product's epilogue when `relu` (the kernels'
 * own epilogue: the reference network's bits, and one pass fewer); backward: dw, db, and dx when the input
 * slot wants one.
 */
class LinearOp implements Op {
  constructor(private readonly kernels: Kernels, private readonly input: Slot, private readonly output: Slot,
    private readonly w: Float32Array, private readonly b: Float32Array,
    private readonly dw: Float32Array, private readonly db: Float32Array, private readonly relu: boolean) {}
  forward(B: number): void {
    this.kernels.linearForward(this.output.values, this.input.values, this.w, this.b, B, this.input.width, this.output.width, this.relu);
  }
  backward(B: number): void {
    this.kernels.linearBackward(this.input.grad, this.dw, this.db, this.output.grad!, this.input.values, this.w,
      B, this.input.width, this.output.width);
  }
}

/** The backward half of a ReLU fused into the Linear before it: dy = 0 where y ≤ 0, in place on the slot. */
class FusedReluOp implements Op {
  constructor(private readonly kernels: Kernels, private readonly slot: Slot) {}
  forward(): void {} // the Linear's epilogue applied it
  backward(B: number): void {
    this.kernels.reluBackward(this.slot.grad!, this.slot.values, B * this.slot.width);
  }
}

/** y = f(x) element-wise; keeps x (the pre-activation) for derivatives that need it, as llm.c keeps `fch`. */
class ActivationOp implements Op {
  private readonly f: ActivationFn;
  private readonly df: ActivationDerivative;
  private readonly slope: number;
  constructor(private readonly input: Slot, private readonly output: Slot, spec: NetworkSpec) {
    this.f = activationForward[spec.activation];
    this.df = activationDerivative[spec.activation];
    this.slope = spec.negativeSlope;
  }
  forward(B: number): void {
    const x = this.input.values, y = this.output.values, n = B * this.input.width;
    for (let k = 0; k < n; k++) y[k] = this.f(x[k], this.slope);
  }
  backward(B: number): void {
    const x = this.input.values, y = this.output.values, dy = this.output.grad!, dx = this.input.grad!;
    const n = B * this.input.width;
    for (let k = 0; k < n; k++) {
      const g = this.df(x[k], y[k], this.slope);
      dx[k] = g === 0 ? 0 : dy[k] * g; // +0 where no gradient flows, as torch's threshold_backward
    }
  }
}

/**
 * Inverted dropout, as nn.Dropout: training y = x · mask · s with s = 1/(1 − p) in float32; evaluation y = x.
 * The mask is kept for the backward (dx = dy · mask · s).
 */
class DropoutOp implements Op {
  private readonly mask: Uint8Array; // (maxBatch, O)
  private readonly scale: number;
  private active = false;
  constructor(private readonly input: Slot, private readonly output: Slot, maxBatch: number,
    private readonly layer: number, private readonly maskOffset: (B: number) => number, private readonly p: number) {
    this.mask = new Uint8Array(maxBatch * input.width);
    this.scale = dropoutScale(p);
  }
  forward(B: number, pass: Pass): void {
    const O = this.input.width, n = B * O, x = this.input.values, y = this.output.values;
    this.active = pass.training && pass.dropout !== null;
    if (!this.active) {
      y.set(x.subarray(0, n));
      return;
    }
    const source = pass.dropout!;
    if ('masks' in source) {
      const offset = this.maskOffset(B);
      if (source.masks.length < offset + n) {
        throw invalidArgument(`Uint8Array of at least ${offset + n} mask values`, 'dropout.masks', source.masks);
      }
      for (let k = 0; k < n; k++) this.mask[k] = source.masks[offset + k] !== 0 ? 1 : 0;
    } else {
      fillDropoutMask(this.mask, source.seed, source.step, this.layer, B, O, this.p);
    }
    for (let k = 0; k < n; k++) y[k] = x[k] * (this.mask[k] ? this.scale : 0);
  }
  backward(B: number): void {
    const n = B * this.input.width, dy = this.output.grad!, dx = this.input.grad!;
    if (!this.active) {
      dx.set(dy.subarray(0, n));
      return;
    }
    for (let k = 0; k < n; k++) dx[k] = dy[k] * (this.mask[k] ? this.scale : 0);
  }
}

export class HostEngine implements Engine {
  readonly sizes: readonly number[];
  private readonly input: Slot; // (maxBatch, I): a gathered batch, or the caller's x
  private readonly logits: Slot; // (maxBatch, K), its grad the loss's gradient
  private readonly ops: Op[];
  private readonly batchLabels: Int32Array; // (maxBatch) class indices of a gathered batch
  private readonly batchTargets: Float32Array; // (maxBatch, K) float targets of a gathered batch
  private readonly predictions: Int32Array; // (maxBatch)

  readonly fusedOptimizers: readonly OptimizerKind[] = ['adam'];

  constructor(
    readonly backend: BackendName,
    private readonly kernels: Kernels,
    readonly spec: NetworkSpec,
    protected readonly buffers: ParameterBuffers,
    readonly maxBatch: number,
  ) {
    const sizes = spec.sizes;
    this.sizes = sizes;
    const params = layerSlices(sizes, buffers.params);
    const grads = layerSlices(sizes, buffers.grads);
    const hidden = hiddenLayerCount(spec);
    this.input = { values: new Float32Array(0), grad: null, width: sizes[0] }; // each pass points it at its x
    this.ops = [];
    let current = this.input;
    if (spec.inputMean !== null && spec.inputStd !== null) {
      const transformed = slot(maxBatch, sizes[0], false);
      this.ops.push(new InputTransformOp(current, transformed, spec.inputMean, spec.inputStd));
      current = transformed;
    }
    for (let l = 0; l + 1 < sizes.length; l++) {
      const isHidden = l < hidden; // the last Linear gives the logits
      const fuseRelu = isHidden && spec.activation === 'relu';
      const output = slot(maxBatch, sizes[l + 1], true);
      this.ops.push(new LinearOp(kernels, current, output, params[l].w, params[l].b, grads[l].w, grads[l].b, fuseRelu));
      current = output;
      if (!isHidden) break;
      if (fuseRelu) {
        this.ops.push(new FusedReluOp(kernels, current));
      } else {
        const activated = slot(maxBatch, sizes[l + 1], true);
        this.ops.push(new ActivationOp(current, activated, spec));
        current = activated;
      }
      if (spec.dropout > 0) {
        const dropped = slot(maxBatch, sizes[l + 1], true);
        // Explicit masks lie hidden layer after hidden layer, each (B, O).
        const before = sizes.slice(1, l + 1).reduce((a, b) => a + b, 0);
        this.ops.push(new DropoutOp(current, dropped, maxBatch, l, (B) => B * before, spec.dropout));
        current = dropped;
      }
    }
    this.logits = current;
    this.batchLabels = new Int32Array(maxBatch);
    this.batchTargets = new Float32Array(spec.loss === 'cross_entropy' ? 0 : maxBatch * this.outputs);
    this.predictions = new Int32Array(maxBatch);
  }

  private get outputs(): number {
    return this.sizes[this.sizes.length - 1];
  }

  private checkBatch(B: number): void {
    if (!(Number.isInteger(B) && B >= 1 && B <= this.maxBatch)) throw invalidArgument(`integer between 1 and ${this.maxBatch}`, 'B', B);
  }

  /** Runs the ops from input x(B, I); the logits end in this.logits.values. */
  private forwardFrom(x: Float32Array, B: number, pass: Pass): Float32Array {
    this.input.values = x;
    for (const op of this.ops) op.forward(B, pass);
    return this.logits.values;
  }

  /** Mean loss of the logits, writing their gradient when `withGradient`. */
  private loss(targets: Targets, B: number, withGradient: boolean): number {
    const dlogits = withGradient ? this.logits.grad : null;
    const { loss, classWeights } = this.spec;
    if (loss === 'cross_entropy' && classWeights === null) {
      if (!(targets instanceof Int32Array)) throw invalidArgument('Int32Array of class indices (cross_entropy)', 'targets', targets);
      return this.kernels.softmaxCrossEntropy(dlogits, this.logits.values, targets, B, this.outputs);
    }
    return lossFunctions[loss](dlogits, this.logits.values, targets, B, this.outputs, classWeights);
  }

  forward(x: Float32Array, B: number, logits: Float32Array): void {
    this.checkBatch(B);
    logits.set(this.forwardFrom(x, B, { training: false, dropout: null }).subarray(0, B * this.outputs));
  }

  computeGradients(x: Float32Array, targets: Targets, B: number, dropout: DropoutSource | null = null): number {
    this.checkBatch(B);
    this.forwardFrom(x, B, { training: true, dropout: this.spec.dropout > 0 ? dropout : null });
    const loss = this.loss(targets, B, true);
    for (let k = this.ops.length - 1; k >= 0; k--) this.ops[k].backward(B);
    return loss;
  }

  adamStep(hyper: AdamHyper, step: number): void {
    const { params, grads, m, v } = this.buffers;
    this.kernels.adamUpdate(params, grads, m, v, params.length, hyper, step);
  }

  attachDataset(features: Features, targets: Targets, n: number, d: number): DatasetHandle {
    return new HostDataset(features, targets, n, d);
  }

  /** x(B,D) and the targets of rows indices[offset .. offset+B) of the dataset. */
  private gather(data: HostDataset, indices: Int32Array, offset: number, B: number): { x: Float32Array; targets: Targets } {
    const x = this.scratchInput();
    const { features, targets } = data;
    if (features instanceof Uint8Array) {
      this.kernels.gatherBatch(x, features, indices, offset, B, data.d);
    } else {
      gatherFloatBatch(x, features, indices, offset, B, data.d, data.n);
    }
    if (targets instanceof Int32Array) {
      for (let r = 0; r < B; r++) this.batchLabels[r] = targets[indices[offset + r]];
      return { x, targets: this.batchLabels };
    }
    const K = this.outputs;
    for (let r = 0; r < B; r++) {
      const src = indices[offset + r] * K;
      for (let k = 0; k < K; k++) this.batchTargets[r * K + k] = targets[src + k];
    }
    return { x, targets: this.batchTargets };
  }

  /** The engine's own input buffer (forward() may have pointed the input slot at a caller's array). */
  private inputScratch: Float32Array | null = null;
  private scratchInput(): Float32Array {
    return (this.inputScratch ??= new Float32Array(this.maxBatch * this.sizes[0]));
  }

  trainBatch(data: DatasetHandle, indices: Int32Array, offset: number, B: number, hyper: StepHyper, step: number,
    _wantLoss = true, dropoutSeed = 0): number {
    const adam = adamOnly(hyper, this.fusedOptimizers);
    const { x, targets } = this.gather(data as HostDataset, indices, offset, B);
    const loss = this.computeGradients(x, targets, B, { seed: dropoutSeed, step }); // on the host the loss costs nothing extra
    if (Number.isFinite(loss)) this.adamStep(adam, step); // a NaN batch leaves the parameters as they were
    return loss;
  }

  evaluateDataset(data: DatasetHandle): { lossSum: number; correct: number } {
    const host = data as HostDataset;
    const countsCorrect = this.spec.loss === 'cross_entropy';
    let lossSum = 0;
    let correct = 0;
    for (let offset = 0; offset < host.n; offset += this.maxBatch) {
      const B = Math.min(this.maxBatch, host.n - offset);
      const { x, targets } = this.gather(host, host.inOrder, offset, B);
      const logits = this.forwardFrom(x, B, { training: false, dropout: null });
      lossSum += this.loss(targets, B, false) * B;
      if (!countsCorrect) continue;
      this.kernels.argmax(this.predictions, logits, B, this.outputs);
      for (let r = 0; r < B; r++) if (this.predictions[r] === this.batchLabels[r]) correct++;
    }
    return { lossSum, correct };
  }

  download(): void {}
  upload(): void {}
  dispose(): void {}
}

/** x(B,D) = features[indices[offset + b]](D) for float features (N, D); indices checked first, so a bad one writes nothing. */
export function gatherFloatBatch(x: Float32Array, features: Float32Array, indices: Int32Array, offset: number,
  B: number, D: number, N: number): void {
  for (let k = offset; k < offset + B; k++) {
    const row = indices[k];
    if (!(row >= 0 && row < N)) throw invalidArgument(`integer between 0 and ${N - 1}`, `indices[${k}]`, row);
  }
  for (let r = 0; r < B; r++) x.set(features.subarray(indices[offset + r] * D, (indices[offset + r] + 1) * D), r * D);
}

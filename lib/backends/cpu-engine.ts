// The native CPU engine: any NetworkSpec run by native/network.h on a team of threads, one native call per
// training step. The first layer takes a sparse path for batches of mostly-zero inputs, chosen per batch inside.
import type { NativeAddon, NativeNetwork } from '../binding';
import type { NetworkSpec } from '../network';
import { HostDataset } from './host-engine';
import type { AdamHyper, DatasetHandle, DropoutSource, Engine, Features, OptimizerKind, ParameterBuffers, StepHyper, Targets } from './types';

/** Seconds per phase of the training steps since the last call, and how many steps took the sparse path. */
export interface CpuPhaseSeconds {
  gather: number;
  forward: number;
  backward: number;
  sparseGradient: number;
  adam: number;
  steps: number;
  sparseSteps: number;
}

export class CpuEngine implements Engine {
  readonly backend = 'cpu' as const;
  /** Adam, AdamW and SGD run inside the native step (native/optimizer_math.h), as flat loops. */
  readonly fusedOptimizers: readonly OptimizerKind[] = ['adam', 'adamw', 'sgd'];
  readonly sizes: readonly number[];
  private network: NativeNetwork | null;

  /** Makes no thread and no scratch: the native side allocates them at the first step. */
  constructor(addon: NativeAddon, readonly spec: NetworkSpec, private readonly buffers: ParameterBuffers,
    readonly maxBatch: number, threads: number, reference = false) {
    this.sizes = spec.sizes;
    this.network = new addon.Network({
      sizes: Int32Array.from(spec.sizes),
      activation: spec.activation,
      negativeSlope: spec.negativeSlope,
      dropout: spec.dropout,
      loss: spec.loss,
      classWeights: spec.classWeights,
      inputMean: spec.inputMean,
      inputStd: spec.inputStd,
    }, maxBatch, threads, reference);
  }

  private get native(): NativeNetwork {
    if (!this.network) throw new Error('CpuEngine: used after dispose()');
    return this.network;
  }

  get threads(): number {
    return this.native.threads;
  }

  /** Floats per vector in the sparse first layer's tiles (16: AVX-512, 8: AVX2 or older). */
  get vectorFloats(): number {
    return this.native.vectorFloats;
  }

  takePhaseSeconds(): CpuPhaseSeconds {
    const [gather, forward, backward, sparseGradient, adam, steps, sparseSteps] = this.native.takePhaseSeconds();
    return { gather, forward, backward, sparseGradient, adam, steps, sparseSteps };
  }

  forward(x: Float32Array, B: number, logits: Float32Array): void {
    this.native.forward(this.buffers.params, x, B, logits);
  }

  computeGradients(x: Float32Array, targets: Targets, B: number, dropout: DropoutSource | null): number {
    return this.native.computeGradients(this.buffers.params, this.buffers.grads, x, targets, B, this.spec.dropout > 0 ? dropout : null);
  }

  adamStep(hyper: AdamHyper, step: number): void {
    const { params, grads, m, v } = this.buffers;
    this.native.download(params, grads, m, v); // a fused step may have left fc1.weight's gradient inside
    this.native.adamStep(params, grads, m, v, hyper, step);
  }

  attachDataset(features: Features, targets: Targets, n: number, d: number, imageWidth = 0): DatasetHandle {
    // A speed hint only: a width that is no whole pixel count (createDataset does not check its imageShape) is none.
    const width = Number.isInteger(imageWidth) && imageWidth > 0 && imageWidth <= 2147483647 ? imageWidth : 0;
    return new HostDataset(features, targets, n, d, width);
  }

  trainBatch(data: DatasetHandle, indices: Int32Array, offset: number, B: number, hyper: StepHyper, step: number,
    _wantLoss = true, dropoutSeed = 0): number {
    const host = data as HostDataset;
    const { params, grads, m, v } = this.buffers;
    return this.native.trainBatch(params, grads, m, v, host.features, host.targets, indices, offset, B, hyper, step, dropoutSeed >>> 0,
      host.imageWidth);
  }

  evaluateDataset(data: DatasetHandle): { lossSum: number; correct: number } {
    const host = data as HostDataset;
    return this.native.evaluate(this.buffers.params, host.features, host.targets, host.n);
  }

  /**
   * Makes the host buffers whole: the sparse path keeps fc1.weight, its moments and its last gradient transposed
   * inside between steps.
   */
  download(): void {
    const { params, grads, m, v } = this.buffers;
    this.native.download(params, grads, m, v);
  }

  /** The host buffers may have been written (loadStateDict, a checkpoint): the sparse path's copy is stale. */
  upload(): void {
    this.native.invalidateShadow();
  }

  dispose(): void {
    this.network?.dispose();
    this.network = null;
  }
}

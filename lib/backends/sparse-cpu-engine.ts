// The native CPU engine: a whole training step in one native call on a team of threads, using the
// sparsity of the inputs (see native/sparse_trainer.h); everything else runs the native kernels.
import type { NativeAddon, NativeSparseTrainer } from '../binding';
import { HostDataset, HostEngine } from './host-engine';
import { nativeCpuKernels } from './native-cpu';
import { isReferenceSemantics, type NetworkSpec } from '../network';
import type { AdamHyper, DatasetHandle, DropoutSource, ParameterBuffers, Targets } from './types';

/**
 * Above this fraction of non-zero inputs the dense BLAS products beat the sparse ones: measured on this
 * 2-core machine with `npm run bench -- --density` (sparse wins up to about half the inputs non-zero).
 */
export const SPARSE_DENSITY_LIMIT = 0.5;

export class SparseCpuEngine extends HostEngine {
  private trainer: NativeSparseTrainer | null;
  /** The last step was fused: the first layer's weight gradient is still inside the trainer. */
  private gradientsInside = false;

  constructor(addon: NativeAddon, spec: NetworkSpec, buffers: ParameterBuffers, maxBatch: number, threads: number) {
    super('cpu', nativeCpuKernels(addon), spec, buffers, maxBatch);
    // The fused step runs the reference semantics only; any other network takes the op list with native products.
    this.trainer = isReferenceSemantics(spec) ? new addon.SparseTrainer(Int32Array.from(spec.sizes), maxBatch, threads) : null;
  }

  /** Seconds per phase of the fused steps since the last call, for the benchmark's time budget. */
  takePhaseSeconds(): { gatherAndForward1: number; restOfNetwork: number; gradient1: number; adam: number } | null {
    if (!this.trainer) return null;
    const [gatherAndForward1, restOfNetwork, gradient1, adam] = this.trainer.takePhaseSeconds();
    return { gatherAndForward1, restOfNetwork, gradient1, adam };
  }

  get threads(): number {
    return this.trainer?.threads ?? 0;
  }

  override trainBatch(data: DatasetHandle, indices: Int32Array, offset: number, B: number, hyper: AdamHyper, step: number,
    wantLoss = true, dropoutSeed = 0): number {
    const host = data as HostDataset;
    const { images, labels } = host;
    if (!this.trainer || images === null || labels === null || host.density > SPARSE_DENSITY_LIMIT) {
      this.trainer?.invalidateShadow();
      this.gradientsInside = false;
      return super.trainBatch(data, indices, offset, B, hyper, step, wantLoss, dropoutSeed);
    }
    const { params, grads, m, v } = this.buffers;
    const loss = this.trainer.trainBatch(params, grads, m, v, images, labels, indices, offset, B, hyper, step);
    this.gradientsInside = true;
    return loss;
  }

  override computeGradients(x: Float32Array, targets: Targets, B: number, dropout: DropoutSource | null = null): number {
    this.gradientsInside = false;
    return super.computeGradients(x, targets, B, dropout);
  }

  /** Makes the host buffers whole: the fused step leaves fc1.weight's gradient transposed inside. */
  override download(): void {
    if (this.trainer && this.gradientsInside) this.trainer.downloadGradients(this.buffers.grads);
    this.gradientsInside = false;
  }

  override adamStep(hyper: AdamHyper, step: number): void {
    super.adamStep(hyper, step);
    this.trainer?.invalidateShadow();
  }

  /** The host buffers may have been written (loadStateDict, a checkpoint): the fused step's copy is stale. */
  override upload(): void {
    this.trainer?.invalidateShadow();
  }

  override dispose(): void {
    this.trainer?.dispose();
    this.trainer = null;
  }
}

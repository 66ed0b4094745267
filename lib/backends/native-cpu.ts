// The native CPU backend: the Kernels contract served by the C++ addon (BLAS or the blocked fallback).
import { requireNative, type NativeAddon } from '../binding';
import type { Kernels } from './types';

export function nativeCpuKernels(addon: NativeAddon = requireNative()): Kernels {
  return {
    linearForward: addon.linearForward,
    linearBackward: addon.linearBackward,
    reluBackward: addon.reluBackward,
    softmaxCrossEntropy: addon.softmaxCrossEntropy,
    adamUpdate: addon.adamUpdate,
    argmax: addon.argmax,
    gatherBatch: addon.gatherBatch,
  };
}

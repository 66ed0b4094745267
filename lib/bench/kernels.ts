// One training step's kernels, each timed alone on a real MNIST batch, for one backend's Kernels.
import type { AdamHyper, Kernels } from '../backends/types';
import type { Dataset } from '../data/dataset';
import { measure } from './measure';

export interface KernelResult {
  name: string;
  medianMs: number;
  /** Floating-point operations of one call (multiply and add counted apart), 0 where not meaningful. */
  flops: number;
}

/** The reference network's step at batch B: 784-H-10, on B images of `data`. */
export function benchKernels(kernels: Kernels, data: Dataset, hidden: number, B: number, repeats: number): KernelResult[] {
  const I = data.d, H = hidden, C = 10;
  const n = H * I + H + C * H + C;
  const random = (len: number, scale: number) => Float32Array.from({ length: len }, () => (Math.random() * 2 - 1) * scale);
  const w1 = random(H * I, 1 / Math.sqrt(I)), b1 = random(H, 0.03), w2 = random(C * H, 1 / Math.sqrt(H)), b2 = random(C, 0.04);
  const indices = Int32Array.from({ length: B }, (_, i) => (i * 7919) % data.n);
  const labels = Int32Array.from(indices, (i) => data.labels[i]);
  const x = new Float32Array(B * I), h = new Float32Array(B * H), logits = new Float32Array(B * C);
  const dlogits = new Float32Array(B * C), dh = new Float32Array(B * H);
  const dw1 = new Float32Array(H * I), db1 = new Float32Array(H), dw2 = new Float32Array(C * H), db2 = new Float32Array(C);
  const params = random(n, 0.05), grads = random(n, 1e-3), m = new Float32Array(n), v = new Float32Array(n);
  const hyper: AdamHyper = { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
  kernels.gatherBatch(x, data.images, indices, 0, B, I);
  kernels.linearForward(h, x, w1, b1, B, I, H, true);
  kernels.linearForward(logits, h, w2, b2, B, H, C, false);
  let step = 0;
  const run = (name: string, flops: number, fn: () => void): KernelResult => ({ name, flops, medianMs: measure(fn, repeats).medianMs });
  return [
    run(`gather ${B}×${I} bytes → floats`, 0, () => kernels.gatherBatch(x, data.images, indices, 0, B, I)),
    run(`forward ${B}×${I} · ${I}×${H} (+bias, ReLU)`, 2 * B * I * H, () => kernels.linearForward(h, x, w1, b1, B, I, H, true)),
    run(`forward ${B}×${H} · ${H}×${C} (+bias)`, 2 * B * H * C, () => kernels.linearForward(logits, h, w2, b2, B, H, C, false)),
    run(`loss: softmax cross-entropy + gradient`, 0, () => kernels.softmaxCrossEntropy(dlogits, logits, labels, B, C)),
    run(`backward ${C}×${B} · ${B}×${H} and ${B}×${C} · ${C}×${H}`, 4 * B * H * C, () => kernels.linearBackward(dh, dw2, db2, dlogits, h, w2, B, H, C)),
    run(`ReLU backward ${B}×${H}`, 0, () => kernels.reluBackward(dh, h, B * H)),
    run(`backward ${H}×${B} · ${B}×${I} (weight gradient)`, 2 * B * I * H, () => kernels.linearBackward(null, dw1, db1, dh, x, w1, B, I, H)),
    run(`Adam over ${n.toLocaleString('en')} parameters`, 0, () => kernels.adamUpdate(params, grads, m, v, n, hyper, ++step)),
  ];
}

// The workloads of `fcnet bench --compare-pytorch --suite`: the table of issue 13, the reference job with SGD and
// AdamW, and normalised MNIST. Each names its network, batch, data and optimizer; the data is made here,
// deterministically, so that fcnet and PyTorch train on the same bytes.
import type { Dataset } from '../data/dataset';
// The dropout hash doubles as a seeded stream of uint32 for the synthetic data.
import { lowbias32 as hash } from '../backends/dropout-mask';

export interface Workload {
  name: string;
  sizes: number[];
  batch: number;
  data: 'mnist' | 'mnist-noise' | 'random-32';
  /** The per-feature input transform (x − mean) / std applied after scaling pixels by 1/255; null: none. */
  normalise: { mean: number; std: number } | null;
  /** Training steps timed per sample, chosen so that a sample lasts about half a second on this 2-core machine. */
  steps: number;
  /** The target for fcnet's speed-up over PyTorch's best (null: a comparison of fcnet with itself). */
  target: string;
  /** torch.optim's optimizer on both sides (default: Adam, lr 1e-3). */
  optimizer?: SuiteOptimizer;
}

/** The optimizers the suite times besides Adam, with torch.optim's arguments. */
export type SuiteOptimizer =
  | { kind: 'adam'; lr: number }
  | { kind: 'sgd'; lr: number; momentum: number }
  | { kind: 'adamw'; lr: number; weightDecay: number };

export const suiteWorkloads: Workload[] = [
  { name: '784-500-10, batch 100, MNIST', sizes: [784, 500, 10], batch: 100, data: 'mnist', normalise: null, steps: 400, target: '≥ 4×' },
  { name: '784-500-10, batch 100, MNIST plus noise', sizes: [784, 500, 10], batch: 100, data: 'mnist-noise', normalise: null, steps: 150, target: '≥ 1.3×' },
  { name: '784-500-500-10, batch 100, MNIST', sizes: [784, 500, 500, 10], batch: 100, data: 'mnist', normalise: null, steps: 150, target: '≥ 2×' },
  { name: '784-1024-1024-10, batch 100, MNIST', sizes: [784, 1024, 1024, 10], batch: 100, data: 'mnist', normalise: null, steps: 60, target: '≥ 1.8×' },
  { name: '784-500-10, batch 1000, MNIST', sizes: [784, 500, 10], batch: 1000, data: 'mnist', normalise: null, steps: 40, target: '≥ 3×' },
  { name: '32-64-64-4, batch 256, 200,000 random rows', sizes: [32, 64, 64, 4], batch: 256, data: 'random-32', normalise: null, steps: 400, target: '≥ 3×' },
  { name: '784-500-10, batch 100, MNIST, SGD (momentum 0.9)', sizes: [784, 500, 10], batch: 100, data: 'mnist', normalise: null, steps: 400, target: '> 1×', optimizer: { kind: 'sgd', lr: 0.01, momentum: 0.9 } },
  { name: '784-500-10, batch 100, MNIST, AdamW', sizes: [784, 500, 10], batch: 100, data: 'mnist', normalise: null, steps: 400, target: '> 1×', optimizer: { kind: 'adamw', lr: 0.001, weightDecay: 0.01 } },
  { name: '784-500-10, batch 100, MNIST normalised (0.1307, 0.3081)', sizes: [784, 500, 10], batch: 100, data: 'mnist', normalise: { mean: 0.1307, std: 0.3081 }, steps: 400, target: 'within 15 % of raw MNIST' },
];

/** One workload's data: n rows of d uint8 inputs, their labels, and the image width (0: the rows are no images). */
export interface WorkloadData {
  images: Uint8Array;
  labels: Int32Array;
  n: number;
  d: number;
  cols: number;
}

/** The images and labels of one workload's data. */
export function workloadData(kind: Workload['data'], mnist: Dataset): WorkloadData {
  if (kind === 'mnist') return { images: mnist.images, labels: mnist.labels, n: mnist.n, d: mnist.d, cols: mnist.cols };
  if (kind === 'mnist-noise') {
    // Each pixel plus a seeded uniform integer in 1..64, clipped at 255: every pixel non-zero, no structure.
    const images = new Uint8Array(mnist.images.length);
    for (let i = 0; i < images.length; i++) images[i] = Math.min(255, mnist.images[i] + 1 + (hash(i ^ 0x6e6f6973) & 63));
    return { images, labels: mnist.labels, n: mnist.n, d: mnist.d, cols: mnist.cols };
  }
  const n = 200_000, d = 32;
  const images = new Uint8Array(n * d);
  for (let i = 0; i < images.length; i++) images[i] = hash(i) & 255;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = hash(i ^ 0x6c61626c) & 3;
  return { images, labels, n, d, cols: 0 };
}

// The data of `fcnet bench --compare-pytorch --suite` (lib/bench/workloads.ts): what the table names, made
// the same way every run.
import type { Dataset } from '../lib/data/dataset';
import { suiteWorkloads, workloadData } from '../lib/bench/workloads';

const mnistLike = {
  images: Uint8Array.from({ length: 3 * 784 }, (_, i) => (i % 7 === 0 ? 255 : i % 3 === 0 ? 30 : 0)),
  labels: Int32Array.of(3, 1, 4),
  n: 3,
  d: 784,
} as unknown as Dataset;

test('MNIST plus noise: every pixel gains 1..64, clipped at 255, the same bytes every time', () => {
  const a = workloadData('mnist-noise', mnistLike), b = workloadData('mnist-noise', mnistLike);
  expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
  const gains = new Set<number>();
  const wrong: number[] = [];
  for (let i = 0; i < a.images.length; i++) {
    const before = mnistLike.images[i], after = a.images[i];
    if (after === 0 || (before === 255 && after !== 255)) wrong.push(i);
    if (before !== 255) gains.add(after - before);
  }
  expect(wrong).toEqual([]);
  expect(Math.min(...gains)).toBeGreaterThanOrEqual(1);
  expect(Math.max(...gains)).toBeLessThanOrEqual(64);
  expect(gains.size).toBeGreaterThan(32); // spread over the range, not a constant
  expect(a.labels).toBe(mnistLike.labels);
});

test("the suite holds the issue's table, the reference job with SGD and AdamW, and normalised MNIST", () => {
  expect(suiteWorkloads.map((w) => `${w.sizes.join('-')} b${w.batch} ${w.data}${w.normalise ? ' normalised' : ''} ${w.optimizer?.kind ?? 'adam'}`)).toEqual([
    '784-500-10 b100 mnist adam', '784-500-10 b100 mnist-noise adam', '784-500-500-10 b100 mnist adam', '784-1024-1024-10 b100 mnist adam',
    '784-500-10 b1000 mnist adam', '32-64-64-4 b256 random-32 adam', '784-500-10 b100 mnist sgd', '784-500-10 b100 mnist adamw',
    '784-500-10 b100 mnist normalised adam',
  ]);
});

// No leak across epochs: 20 epochs in one process on the cpu backend, each a fit() over 6,000 MNIST images (the
// code path of a full run, on a tenth of the data), an evaluate() and a stateDict(), and the resident memory after
// the first epoch grows by at most 10 MB. Figures per epoch are printed.
import * as v8 from 'v8';
import * as vm from 'vm';
import { Adam } from '../lib/adam';
import { createDataset, type Dataset } from '../lib/data/dataset';
import { loadMnist } from '../lib/data/mnist';
import { MLP } from '../lib/model';
import { evaluate, fit } from '../lib/train';

const EPOCHS = 20;
const MB = 1 << 20;
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const mnist = loadMnist();
const subset = (data: Dataset, n: number): Dataset =>
  createDataset(data.images.subarray(0, n * data.d), data.labels.subarray(0, n), [data.rows, data.cols], `first ${n}`);

test(`${EPOCHS} epochs of fit + evaluate + stateDict on the cpu backend grow RSS by at most 10 MB after the first`, async () => {
  const train = subset(mnist.train, 6000), testSet = subset(mnist.test, 1000);
  const model = new MLP({ backend: 'cpu', seed: 1 });
  const optimizer = new Adam(model);
  const rows: Array<{ rss: number; heap: number; external: number; accuracy: number }> = [];
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    await fit(model, optimizer, train, { epochs: 1, seed: epoch });
    const { accuracy } = evaluate(model, testSet);
    const state = model.stateDict();
    expect(Object.keys(state)).toHaveLength(4);
    gc();
    const m = process.memoryUsage();
    rows.push({ rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers, accuracy });
  }
  const growth = Math.max(...rows.slice(1).map((r) => r.rss)) - rows[0].rss;
  const last = rows[rows.length - 1];
  console.log(`RSS after epoch 1: ${(rows[0].rss / MB).toFixed(1)} MB; after epoch ${EPOCHS}: ${(last.rss / MB).toFixed(1)} MB; largest growth over epoch 1: ${(growth / MB).toFixed(2)} MB\n` +
    rows.map((r, e) => `  epoch ${String(e + 1).padStart(2)}: rss ${(r.rss / MB).toFixed(1)} MB, heap ${(r.heap / MB).toFixed(1)} MB, external+buffers ${(r.external / MB).toFixed(1)} MB, test accuracy ${(100 * r.accuracy).toFixed(1)} %`).join('\n'));
  expect(growth).toBeLessThanOrEqual(10 * MB);
  expect(last.accuracy).toBeGreaterThan(0.9);
});

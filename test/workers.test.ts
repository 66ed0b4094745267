// Concurrency: the addon loads and trains in two worker threads at once, each giving exactly what the same training
// gives on the main thread; and the `threads` option really sets the training step's team and the BLAS.
import * as fs from 'fs';
import { Worker } from 'worker_threads';
import { Adam } from '../lib/adam';
import { requireNative } from '../lib/binding';
import type { CpuEngine } from '../lib/backends/cpu-engine';
import { createDataset, type Dataset } from '../lib/data/dataset';
import { loadMnist } from '../lib/data/mnist';
import { MLP } from '../lib/model';
import { fit } from '../lib/train';
import { compiledLib } from './support/compiled';

const IMAGES = 3000;
const mnist = loadMnist();
const subset = (data: Dataset, n: number): Dataset =>
  createDataset(data.images.subarray(0, n * data.d), data.labels.subarray(0, n), [data.rows, data.cols], `first ${n}`);

// One worker: the compiled package, MNIST's first images, one epoch of 784-64-10 on the cpu backend with 2 threads.
const WORKER = `
const { parentPort, workerData } = require('worker_threads');
const fcnet = require(workerData.lib);
(async () => {
  const train = fcnet.loadMnist().train;
  const n = workerData.images;
  const data = fcnet.createDataset(train.images.subarray(0, n * 784), train.labels.subarray(0, n), [28, 28]);
  const model = new fcnet.MLP({ sizes: [784, 64, 10], backend: 'cpu', seed: workerData.seed, threads: 2 });
  // Both ready, then both go: the two fits run at the same time.
  const ready = new Int32Array(workerData.barrier);
  Atomics.add(ready, 0, 1);
  while (Atomics.load(ready, 0) < 2) Atomics.wait(ready, 0, 1, 10);
  const started = performance.now() + performance.timeOrigin;
  await fcnet.fit(model, new fcnet.Adam(model), data, { epochs: 1, batchSize: 50, seed: workerData.seed });
  const ended = performance.now() + performance.timeOrigin;
  parentPort.postMessage({ backend: model.backend, params: model.buffers.params, started, ended });
})().catch((e) => parentPort.postMessage({ error: e.stack }));
`;

interface WorkerResult {
  backend: string;
  params: Float32Array;
  started: number;
  ended: number;
  error?: string;
}

function trainInWorker(lib: string, seed: number, barrier: SharedArrayBuffer): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { lib, seed, images: IMAGES, barrier } });
    worker.once('message', (result: WorkerResult) => {
      if (result.error) reject(new Error(result.error));
      else resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && code !== 1 && reject(new Error(`worker exited with ${code}`)));
  });
}

test('two worker threads load the addon and train at the same time, each exactly as the main thread does', async () => {
  const lib = compiledLib();
  const barrier = new SharedArrayBuffer(4);
  const [a, b] = await Promise.all([trainInWorker(lib, 1, barrier), trainInWorker(lib, 2, barrier)]);
  const overlap = Math.min(a.ended, b.ended) - Math.max(a.started, b.started);
  console.log(`workers trained ${IMAGES} images each on '${a.backend}' and '${b.backend}': fits of ${(a.ended - a.started).toFixed(0)} and ${(b.ended - b.started).toFixed(0)} ms, overlapping for ${overlap.toFixed(0)} ms`);
  expect([a.backend, b.backend]).toEqual(['cpu', 'cpu']);
  expect(overlap).toBeGreaterThan(0);
  for (const [seed, result] of [[1, a], [2, b]] as const) {
    const model = new MLP({ sizes: [784, 64, 10], backend: 'cpu', seed, threads: 2 });
    await fit(model, new Adam(model), subset(mnist.train, IMAGES), { epochs: 1, batchSize: 50, seed });
    expect(Float32Array.from(result.params)).toEqual(model.buffers.params); // from the worker: another realm's Float32Array
  }
  expect(Float32Array.from(a.params)).not.toEqual(Float32Array.from(b.params));
});

describe('the threads option', () => {
  const native = requireNative();
  const blasThreads = native.gemmInfo().threads;
  afterAll(() => native.setThreads(blasThreads)); // the BLAS's count is per process

  const tasks = (): number => fs.readdirSync('/proc/self/task').length;

  test.each([1, 3])('threads: %i → a team of that many in the training step, the BLAS set to it, that many threads at work', async (threads) => {
    const model = new MLP({ sizes: [784, 32, 10], backend: 'cpu', threads });
    expect(native.gemmInfo().threads).toBe(native.gemmInfo().blas === 'openblas' ? threads : 1);
    const before = tasks();
    let during = 0;
    await fit(model, new Adam(model), subset(mnist.train, 500), { epochs: 1, onStep: () => { during = Math.max(during, tasks()); } });
    expect((model.engine() as CpuEngine).threads).toBe(threads);
    console.log(`threads: ${threads}: /proc/self/task ${before} before the engine, ${during} during fit; BLAS threads ${native.gemmInfo().threads}`);
    expect(during - before).toBe(threads - 1); // the caller is the team's first member
    model.engine().dispose();
  });
});

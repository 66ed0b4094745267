#!/usr/bin/env node
// worker.terminate() at random moments (seeded) while the worker loops over native calls: MLP.logits, fit (the
// Network trainBatch), the addon's trainBatch and softmaxCrossEntropy straight, and with FCNET_CUDA_ADDON the cuda
// addon's forward and trainBatch. Each terminate must resolve and the main thread go on; a native error that
// escapes while the worker's environment shuts down aborts the whole process (std::terminate), which the caller
// sees as a signal. Prints one line of JSON: the workers terminated per kind, their exit codes, and the main
// thread's timer ticks meanwhile.
//
//   node test/fuzz/worker-terminate.js [--workers N] [--seed N]
//     FCNET_ADDON_PATH: the cpu addon; FCNET_CUDA_ADDON: a cuda addon (or its emulation) to stop as well
'use strict';
const path = require('path');
const { Worker } = require('worker_threads');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const WORKERS = option('--workers', 40);
let seed = option('--seed', 1) >>> 0;
const random = () => {  // mulberry32
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const root = path.resolve(__dirname, '..', '..');
const cudaAddon = process.env.FCNET_CUDA_ADDON ? path.resolve(process.env.FCNET_CUDA_ADDON) : null;

// Each body posts 'ready' once its first native call is done, then calls native code until terminated.
const BODIES = {
  logits: `
    const model = new fcnet.MLP({ sizes: [784, 200, 10], backend: 'cpu', threads: 2 });
    const x = new Float32Array(100 * 784).fill(0.5);
    model.logits(x, 100);
    parentPort.postMessage('ready');
    for (;;) model.logits(x, 100);`,
  fit: `
    const n = 200, images = new Uint8Array(n * 784).map((_, i) => (i * 7919) % 5 === 0 ? 200 : 0);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
    const data = fcnet.createDataset(images, labels, [28, 28]);
    const model = new fcnet.MLP({ sizes: [784, 64, 10], backend: 'cpu', threads: 2 });
    const adam = new fcnet.Adam(model);
    (async () => {
      await fcnet.fit(model, adam, data, { epochs: 1, batchSize: 50 });
      parentPort.postMessage('ready');
      for (;;) await fcnet.fit(model, adam, data, { epochs: 1000, batchSize: 50 });
    })();`,
  addon: `
    const addon = require(process.env.FCNET_ADDON_PATH || require('node-gyp-build').resolve(root));
    const sizes = [784, 32, 10], B = 50, N = 100, count = 784 * 32 + 32 + 32 * 10 + 10;
    const trainer = new addon.Network({ sizes: Int32Array.from(sizes), activation: 'relu', negativeSlope: 0, dropout: 0, loss: 'cross_entropy', classWeights: null, inputMean: null, inputStd: null }, B, 2);
    const p = new Float32Array(count).fill(0.01), g = new Float32Array(count), m = new Float32Array(count), v = new Float32Array(count);
    const images = new Uint8Array(N * 784).map((_, i) => (i % 3 === 0 ? 90 : 0));
    const labels = Int32Array.from({ length: N }, (_, i) => i % 10), order = Int32Array.from({ length: N }, (_, i) => i);
    // A getter: the binding calls into JS during the call, where a terminating environment refuses it.
    const hyper = { get lr() { return 1e-3; }, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
    const logits = new Float32Array(B * 10), dlogits = new Float32Array(B * 10);
    let step = 0;
    trainer.trainBatch(p, g, m, v, images, labels, order, 0, B, hyper, ++step, 0, 0);
    parentPort.postMessage('ready');
    for (;;) {
      trainer.trainBatch(p, g, m, v, images, labels, order, 0, B, hyper, ++step, 0, 0);
      addon.softmaxCrossEntropy(dlogits, logits, labels, B, 10);
    }`,
  cuda: `
    const addon = require(workerData.cudaAddon);
    const sizes = [16, 8, 5], B = 8, count = 16 * 8 + 8 + 8 * 5 + 5;
    const engine = new addon.CudaEngine(Int32Array.from(sizes), B, false, -1);
    engine.upload(new Float32Array(count).fill(0.1), new Float32Array(count), new Float32Array(count), new Float32Array(count));
    const x = new Float32Array(B * 16).fill(0.5), logits = new Float32Array(B * 5);
    const id = engine.attachDataset(new Uint8Array(B * 16).fill(3), Int32Array.from({ length: B }, (_, i) => i % 5), B, 16);
    const order = Int32Array.from({ length: B }, (_, i) => i);
    engine.forward(x, B, logits);
    parentPort.postMessage('ready');
    for (let step = 1; ; step++) {
      engine.forward(x, B, logits);
      engine.trainBatch(id, order, 0, B, 1e-3, 0.9, 0.999, 1e-8, 0, step, true);
    }`,
};

function start(kind) {
  const prelude = `const { parentPort, workerData } = require('worker_threads');
    const root = workerData.root;
    const fcnet = require(root);`;
  return new Worker(prelude + BODIES[kind], { eval: true, workerData: { root, cudaAddon } });
}

(async () => {
  const kinds = ['logits', 'fit', 'addon', ...(cudaAddon ? ['cuda'] : [])];
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const terminated = {}, codes = {};
  for (let i = 0; i < WORKERS; i++) {
    const kind = kinds[i % kinds.length];
    const worker = start(kind);
    await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 25)));  // 0..24 ms into the loop
    const code = await worker.terminate();
    terminated[kind] = (terminated[kind] ?? 0) + 1;
    codes[code] = (codes[code] ?? 0) + 1;
  }
  clearInterval(timer);
  console.log(JSON.stringify({ workers: WORKERS, terminated, exitCodes: codes, mainThreadTicks: ticks }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

#!/usr/bin/env node
// Races every native entry point that indexes with caller memory (labels, indices) against a worker thread that
// flips those values in a SharedArrayBuffer between valid and out of range while the calls run. Native code that
// checks a value in caller memory and then reads it again to index with it writes out of bounds here: the process
// dies with a signal (which the caller sees), or a guard value around an output changes. Native code that reads
// once into memory it owns answers each call with a result or a RangeError.
// A case ends once --returned calls went through (each one a chance for the race: its check passed) and 20 were
// refused (so the worker did flip values during the calls), or after --calls calls in all, or --seconds (a bound on
// the work on a slow machine, not a measurement). Calls start once the main thread has seen a value flipped. Prints one line of JSON: per case the calls, how many returned, how many were refused, and any
// problems; with --verbose, the counts as it goes (on stderr), to see how far a crashing build got.
//
//   node test/fuzz/shared-memory-race.js [--returned N] [--calls N] [--seconds S] [--case NAME] [--verbose]
//     FCNET_ADDON_PATH: the cpu addon to load; FCNET_CUDA_ADDON: a cuda addon (or its emulation) to race as well
'use strict';
const path = require('path');
const { Worker, isMainThread, workerData, parentPort } = require('worker_threads');

if (!isMainThread) {
  // The flipper: stores a bad value into each slot, holds it a while, stores the good ones back, holds them a while
  // (each hold a varying number of loads, so checks and uses fall on either), until stopped.
  const view = new Int32Array(workerData.sab);
  const stop = new Int32Array(workerData.stop);
  const { slots, good, bad } = workerData;
  const hold = () => {  // random lengths: a fixed rhythm can lock into step with the calls' and miss the race
    for (let wait = Math.floor(Math.random() * 256); wait > 0; wait--) Atomics.load(stop, 0);
  };
  parentPort.postMessage('flipping');
  for (let round = 0; Atomics.load(stop, 0) === 0; round++) {
    const value = bad[round % bad.length];
    for (let i = 0; i < slots.length; i++) Atomics.store(view, slots[i], value);
    hold();
    for (let i = 0; i < slots.length; i++) Atomics.store(view, slots[i], good[i]);
    hold();
  }
  return;
}

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const RETURNED = Number(option('--returned', 300));
const CALLS = Number(option('--calls', 20000));
const SECONDS = Number(option('--seconds', 4));
const ONLY = option('--case', null);
const VERBOSE = args.includes('--verbose');

const root = path.resolve(__dirname, '..', '..');
const addon = require(process.env.FCNET_ADDON_PATH || require('node-gyp-build').resolve(root));
const cudaAddon = process.env.FCNET_CUDA_ADDON ? require(path.resolve(process.env.FCNET_CUDA_ADDON)) : null;

let seed = 12345;
const random = () => {  // mulberry32: the same inputs every run (the interleaving is up to the threads)
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const floats = (n, scale = 1) => Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
const sparseImages = (n, d) => Uint8Array.from({ length: n * d }, () => (random() < 0.8 ? 0 : Math.floor(random() * 256)));
const sharedInt32 = (values) => {
  const view = new Int32Array(new SharedArrayBuffer(4 * values.length));
  view.set(values);
  return view;
};

// An output with guard values on both sides: a write out of bounds that does not crash still shows.
const GUARD = 64, SENTINEL = -12345.5;
function guarded(length) {
  const whole = new Float32Array(length + 2 * GUARD).fill(SENTINEL);
  const view = whole.subarray(GUARD, GUARD + length);
  view.fill(0);
  return { view, intact: () => whole.subarray(0, GUARD).every((x) => x === SENTINEL) && whole.subarray(GUARD + length).every((x) => x === SENTINEL) };
}

const BAD = [0x7fffffff, -0x80000000, -1, 1 << 20];  // far out (a crash), and just out (a guard changes)

// Each case: the shared Int32Array, the slots the worker flips, and one call (which may throw a RangeError).
function cases() {
  const list = [];
  {
    const B = 256, C = 100;
    const logits = floats(B * C, 4), labels = sharedInt32(Array.from({ length: B }, (_, r) => r % C));
    const dlogits = guarded(B * C);
    list.push({ name: 'softmaxCrossEntropy', shared: labels, slots: [0, B - 1], intact: dlogits.intact,
      call: () => addon.softmaxCrossEntropy(dlogits.view, logits, labels, B, C) });
  }
  {
    const N = 64, D = 784, B = 256, offset = 3;
    const images = sparseImages(N, D), indices = sharedInt32(Array.from({ length: offset + B }, (_, i) => i % N));
    const x = guarded(B * D);
    list.push({ name: 'gatherBatch', shared: indices, slots: [offset, offset + B - 1], intact: x.intact,
      call: () => addon.gatherBatch(x.view, images, indices, offset, B, D) });
  }
  for (const [what, sizes] of [['labels', [784, 32, 10]], ['indices', [784, 32, 10]], ['labels', [784, 16, 12, 10]]]) {
    const N = 100, B = 100, I = sizes[0], C = sizes[sizes.length - 1];
    const count = sizes.slice(1).reduce((sum, o, l) => sum + o * sizes[l] + o, 0);
    const trainer = new addon.Network({ sizes: Int32Array.from(sizes), activation: 'relu', negativeSlope: 0, dropout: 0, loss: 'cross_entropy', classWeights: null, inputMean: null, inputStd: null }, B, 2);
    const params = floats(count, 0.05), grads = new Float32Array(count), m = new Float32Array(count), v = new Float32Array(count);
    const images = sparseImages(N, I);
    const labelValues = Array.from({ length: N }, (_, i) => i % C), order = Array.from({ length: N }, (_, i) => N - 1 - i);
    const labels = what === 'labels' ? sharedInt32(labelValues) : Int32Array.from(labelValues);
    const indices = what === 'indices' ? sharedInt32(order) : Int32Array.from(order);
    const hyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
    let step = 0;
    list.push({ name: `Network.trainBatch ${what} (${sizes.join('-')})`, shared: what === 'labels' ? labels : indices,
      slots: what === 'labels' ? [order[0], order[B - 1]] : [0, B - 1], intact: () => params.every(Number.isFinite),
      call: () => trainer.trainBatch(params, grads, m, v, images, labels, indices, 0, B, hyper, ++step, 0, 0) });
  }
  if (cudaAddon) {
    // Small batches (the CPU emulation runs each CUDA thread as a coroutine: slow), wide inputs and long arrays, so
    // that the time between a check and an upload, where the race is, is not tiny.
    const sizes = [2048, 4, 5], B = 4, I = sizes[0], C = sizes[2];
    const count = sizes.slice(1).reduce((sum, o, l) => sum + o * sizes[l] + o, 0);
    const engine = new cudaAddon.CudaEngine(Int32Array.from(sizes), B, false, -1);
    engine.upload(floats(count, 0.05), new Float32Array(count), new Float32Array(count), new Float32Array(count));
    const x = floats(B * I, 1).map(Math.abs), grads = new Float32Array(count);
    const batchLabels = sharedInt32(Array.from({ length: B }, (_, r) => r % C));
    list.push({ name: 'CudaEngine.computeGradients', shared: batchLabels, slots: [0, B - 1], intact: () => grads.every(Number.isFinite),
      call: () => engine.computeGradients(x, batchLabels, B, grads) });
    // Narrow inputs for the datasets: many labels to check, little to copy.
    const narrow = [16, 4, 5], small = new cudaAddon.CudaEngine(Int32Array.from(narrow), B, false, -1);
    const smallCount = narrow.slice(1).reduce((sum, o, l) => sum + o * narrow[l] + o, 0);
    small.upload(floats(smallCount, 0.3), new Float32Array(smallCount), new Float32Array(smallCount), new Float32Array(smallCount));
    const N = 4096, images = sparseImages(N, narrow[0]), labelValues = Array.from({ length: N }, (_, i) => i % C);
    const labels = sharedInt32(labelValues), ends = Int32Array.from([0, N - 1, 1, N - 2]);
    let step = 0;
    list.push({ name: 'CudaEngine.attachDataset', shared: labels, slots: [0, N - 1], intact: () => true,
      call: () => {
        const id = small.attachDataset(images, labels, N, narrow[0]);
        try {  // a step on the rows whose labels flip: the device indexes with them
          const loss = small.trainBatch(id, ends, 0, B, 1e-3, 0.9, 0.999, 1e-8, 0, ++step, true);
          if (!Number.isFinite(loss)) throw new Error(`trainBatch gave a loss of ${loss}`);
        } finally {
          small.detachDataset(id);
        }
      } });
    const dataset = small.attachDataset(images.subarray(0, 8 * narrow[0]), Int32Array.from(labelValues.slice(0, 8)), 8, narrow[0]);
    // Two views of one shared order, of different lengths, taken in turn: the engine never finds the order it has
    // already uploaded, so every call copies (and checks) it.
    const indices = sharedInt32(Array.from({ length: 1 << 16 }, (_, i) => i % 8));
    const shorter = indices.subarray(0, indices.length - 1);
    list.push({ name: 'CudaEngine.trainBatch', shared: indices, slots: [0, B - 1], intact: () => true,
      call: () => small.trainBatch(dataset, ++step % 2 ? indices : shorter, 0, B, 1e-3, 0.9, 0.999, 1e-8, 0, step, true) });
  }
  return ONLY ? list.filter((c) => c.name === ONLY) : list;
}

function startFlipper(c) {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(__filename, { workerData: { sab: c.shared.buffer, stop: stop.buffer, slots: c.slots,
    good: c.slots.map((s) => c.shared[s]), bad: BAD } });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', () => {
      // The worker runs: wait (boundedly) until a bad value shows, so the calls do not all come before its first store.
      const until = Date.now() + 2000;
      while (Date.now() < until && c.slots.every((s) => BAD.indexOf(Atomics.load(c.shared, s)) < 0));
      resolve({ stop: () => { Atomics.store(stop, 0, 1); return worker.terminate(); } });
    });
  });
}

(async () => {
  const started = Date.now();
  const results = {};
  const problems = [];
  for (const c of cases()) {
    const flipper = await startFlipper(c);
    const r = { calls: 0, returned: 0, refused: 0 };
    const end = Date.now() + SECONDS * 1000;
    const enough = () => r.returned >= RETURNED && r.refused >= 20;
    for (let i = 0; i < CALLS && !enough() && Date.now() < end; i++) {
      if (VERBOSE && i % 10 === 0) console.error(`${c.name}: ${JSON.stringify(r)}`);
      r.calls++;
      try {
        c.call();
        r.returned++;
      } catch (e) {
        if (e instanceof RangeError && /^Expected integer between /.test(e.message)) r.refused++;
        else if (problems.length < 20) problems.push(`${c.name}: ${e && e.stack}`);
      }
      if (!c.intact()) {
        problems.push(`${c.name}: an output was written out of bounds, or a parameter is no longer finite, after call ${i + 1}`);
        break;
      }
    }
    await flipper.stop();
    results[c.name] = r;
  }
  console.log(JSON.stringify({ seconds: (Date.now() - started) / 1000, cases: results, problems }));
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

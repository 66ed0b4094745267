// Trains the native Network (sparse first layer) for a few batches of sparse synthetic images and prints a SHA-256 of everything
// it produced (losses, parameters, gradients, moments). Run in a child process, so that FCNET_SIMD (read once
// per process) can choose the tiles' vector shape: test/training.test.ts compares the shapes' prints.
//   node test/support/sparse-step-bits.js        (FCNET_ADDON_PATH: the binary to load)
'use strict';
const crypto = require('crypto');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const addon = require(process.env.FCNET_ADDON_PATH || require('node-gyp-build').resolve(root));

// Odd sizes on purpose: a ragged last group of rows (B = 37) and of inputs (I = 783), H not a whole chunk; the
// inputs as 27 rows of 29 pixels, so that the gradient's 2×3 patches are cut at the right and bottom edges.
const sizes = [783, 70, 10];
const N = 200, B = 37, steps = 5;
let seed = 12345;
const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
const images = new Uint8Array(N * sizes[0]).map(() => (next() % 100 < 80 ? 0 : next() % 256));
const labels = Int32Array.from({ length: N }, () => next() % sizes[2]);
let count = 0;
for (let l = 0; l + 1 < sizes.length; l++) count += sizes[l] * sizes[l + 1] + sizes[l + 1];
const params = Float32Array.from({ length: count }, () => (next() / 2 ** 32 - 0.5) * 0.1);
const [grads, m, v] = [new Float32Array(count), new Float32Array(count), new Float32Array(count)];
const indices = Int32Array.from({ length: N }, (_, i) => (i * 71) % N);
const hyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

const trainer = new addon.Network({ sizes: Int32Array.from(sizes), activation: 'relu', negativeSlope: 0, dropout: 0, loss: 'cross_entropy', classWeights: null, inputMean: null, inputStd: null }, B, 2);
const losses = [];
for (let s = 0; s < steps; s++) losses.push(trainer.trainBatch(params, grads, m, v, images, labels, indices, s * B, B, hyper, s + 1, 0, 29));
trainer.download(params, grads, m, v);
const vectorFloats = trainer.vectorFloats;
trainer.dispose();

const hash = crypto.createHash('sha256');
for (const a of [Float64Array.from(losses), params, grads, m, v]) hash.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
console.log(JSON.stringify({ vectorFloats, losses, sha256: hash.digest('hex') }));

#!/usr/bin/env node
// Saves training checkpoints of a 784-170-10 network (1.6 MB each) to one path, as fast as it can, until killed.
// Save k holds k everywhere: Adam's step, the position's step, and every parameter and moment is (k mod 1000) / 1000,
// so a reader can tell a whole save from a mix of two. Prints 'saved <k>' after the first save.
//   node test/support/save-checkpoints.js DIST_LIB FILE FIRST_K
'use strict';
const [lib, file, first] = process.argv.slice(2);
const fcnet = require(lib);
const { saveTrainingCheckpoint } = require(`${lib}/checkpoint`);

const model = new fcnet.MLP({ sizes: [784, 170, 10], backend: 'js', seed: 1 });
const optimizer = new fcnet.Adam(model);
const settings = { epochs: 1, batchSize: 100, seed: 0, lr: 0.001, hidden: [170] };
for (let k = Number(first); ; k++) {
  const value = (k % 1000) / 1000;
  for (const buffer of [model.buffers.params, model.buffers.m, model.buffers.v]) buffer.fill(value);
  optimizer.step = k;
  saveTrainingCheckpoint(file, model, optimizer, { epoch: 0, step: k, rngState: [1, 2, 3, 4] }, settings);
  if (k === Number(first)) process.stdout.write(`saved ${k}\n`);
}

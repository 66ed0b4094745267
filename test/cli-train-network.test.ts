// `fcnet train --activation --dropout --loss`: the network options from the command line, recorded in the weights
// file so eval and loadMLP rebuild the network; what MNIST's labels do not allow is a usage error before any work.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMLP, readSafetensorsFile } from '../lib/checkpoint';
import { UsageError } from '../lib/cli/args';
import { trainCommand } from '../lib/cli/train';
import { Rng } from '../lib/rng';
import { captureConsole } from './support/console-capture';
import { syntheticDigits, writeIdxFolder } from './support/idx-folder';

const SIDE = 8;
let folder: string;
const run = ['--epochs', '1', '--batch-size', '16', '--hidden', '12,8', '--lr', '0.01', '--seed', '2', '--backend', 'js', '--plain'];

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'fcnet-cli-network-'));
  const rng = new Rng(3);
  writeIdxFolder(folder, SIDE, syntheticDigits(64, rng, SIDE), syntheticDigits(16, rng, SIDE));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

test('--activation gelu --dropout 0.2 trains and the weights file records the network', async () => {
  const output = join(folder, 'gelu.safetensors');
  const { error } = await captureConsole(() => trainCommand(['--data', folder, ...run, '--activation', 'gelu', '--dropout', '0.2', '--loss', 'cross_entropy', '--output', output]));
  expect(error).toBeUndefined();
  expect(JSON.parse(readSafetensorsFile(output).metadata.fcnet)).toMatchObject({ format: 1, activation: 'gelu', dropout: 0.2, loss: 'cross_entropy' });
  expect(loadMLP(output, { backend: 'js' }).spec).toMatchObject({ sizes: [64, 12, 8, 10], activation: 'gelu', dropout: 0.2 });
});

test.each([
  [['--activation', 'swish'], "--activation: expected one of relu, leaky_relu, tanh, sigmoid, gelu, got 'swish'"],
  [['--dropout', '1'], "--dropout: expected a probability from 0 up to (not including) 1, got '1'"],
  [['--dropout', 'x'], "--dropout: expected a probability from 0 up to (not including) 1, got 'x'"],
  [['--loss', 'mse'], "--loss: MNIST's class labels allow only cross_entropy here, got 'mse' (bce_with_logits, mse and l1 need float targets: from code, createFeatureDataset)"],
])('%j is a usage error before any work', async (flags, message) => {
  const { error } = await captureConsole(() => trainCommand(['--data', folder, ...run, ...flags, '--output', join(folder, 'never.safetensors')]));
  expect(error).toEqual(new UsageError(message));
});

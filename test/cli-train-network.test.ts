// `fcnet train --activation --dropout --loss`: the network options from the command line, recorded in the weights
// file so eval and loadMLP rebuild the network; what MNIST's labels do not allow is a usage error before any work.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMLP, readSafetensorsFile } from '../lib/checkpoint';
import { main } from '../lib/cli/main';
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

const helpHint = 'Run `fcnet train --help` for the options.';

test.each([
  [['--activation', 'swish'], "Expected one of 'relu', 'leaky_relu', 'tanh', 'sigmoid', 'gelu' for --activation but received 'swish'"],
  [['--dropout', '1'], "Expected number from 0 up to (not including) 1 for --dropout but received '1'"],
  [['--dropout', 'x'], "Expected number from 0 up to (not including) 1 for --dropout but received 'x'"],
  [['--loss', 'mse'], "--loss: IDX class labels allow only cross_entropy, got 'mse' (bce_with_logits, mse and l1 need float targets: --data table.csv --target ... --task regress|multilabel)"],
])('%j is a usage error before any work (exit 2)', async (flags, message) => {
  const output = join(folder, 'never.safetensors');
  const { result, stderr } = await captureConsole(() => main(['train', '--data', folder, ...run, ...flags, '--output', output]));
  expect(result).toBe(2);
  expect(stderr).toEqual([`fcnet train: ${message}\n${helpHint}`]);
});

test('a resumed run keeps its network: --activation may repeat it, not change it', async () => {
  const checkpoint = join(folder, 'gelu.ckpt');
  const first = await captureConsole(() => trainCommand(['--data', folder, ...run, '--activation', 'gelu', '--checkpoint', checkpoint, '--output', join(folder, 'a.safetensors')]));
  expect(first.error).toBeUndefined();
  const changed = await captureConsole(() => main(['train', '--data', folder, '--resume', checkpoint, '--activation', 'tanh', '--output', join(folder, 'b.safetensors')]));
  expect(changed.result).toBe(2);
  expect(changed.stderr).toEqual([`fcnet train: --activation tanh conflicts with ${checkpoint}, whose run has activation gelu; leave --activation out to continue that run as it was\n${helpHint}`]);
});

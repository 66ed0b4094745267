// `fcnet train --checkpoint / --checkpoint-every / --resume` on a small MNIST-shaped folder: an interrupted
// run (Ctrl-C, stood in for by an AbortSignal) resumed from its checkpoint saves the same weights, bit for
// bit, as the run that was never stopped; settings come from the checkpoint and may not be changed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrainingCheckpoint, readSafetensorsFile } from '../lib/checkpoint';
import { main } from '../lib/cli/main';
import { trainCommand } from '../lib/cli/train';
import { Rng } from '../lib/rng';
import { captureConsole } from './support/console-capture';
import { syntheticDigits, writeIdxFolder, type ImageSet } from './support/idx-folder';

const SIDE = 8;
const TRAIN = 300; // 19 steps of 16 per epoch, the last one 12
const STEPS_PER_EPOCH = 19;

const imageSet = (n: number, rng: Rng): ImageSet => syntheticDigits(n, rng, SIDE);

let folder: string;
const run = ['--epochs', '2', '--batch-size', '16', '--hidden', '16', '--lr', '0.01', '--seed', '3', '--backend', 'cpu'];
const at = (name: string): string => join(folder, name);
const weightsOf = (path: string) => readSafetensorsFile(path).tensors;
const helpHint = 'Run `fcnet train --help` for the options.';

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'fcnet-cli-train-'));
  const rng = new Rng(99);
  writeIdxFolder(folder, SIDE, imageSet(TRAIN, rng), imageSet(50, rng));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

test('Ctrl-C saves a checkpoint; --resume then ends with the same weights as the run never stopped', async () => {
  const whole = await captureConsole(() => trainCommand(['--data', folder, ...run, '--output', at('whole.safetensors')]));
  expect(whole.error).toBeUndefined();

  const controller = new AbortController();
  const stopped = await captureConsole(
    () => trainCommand(['--data', folder, ...run, '--log-every', '1', '--checkpoint', at('run.ckpt'), '--output', at('unused.safetensors')], controller.signal),
    (line) => line.startsWith('Epoch [1/2], Step [7/19]') && controller.abort(),
  );
  expect(stopped.error?.message).toBe(`interrupted after epoch 1, step 7; saved ${at('run.ckpt')}: continue with --resume ${at('run.ckpt')}`);
  expect(stopped.stdout[stopped.stdout.length - 1]).toMatch(/^Epoch \[1\/2\], Step \[7\/19\], Loss: \d+\.\d{4}$/);
  expect(loadTrainingCheckpoint(at('run.ckpt')).position).toMatchObject({ epoch: 0, step: 7 });

  const resumed = await captureConsole(() => main(['train', '--data', folder, '--resume', at('run.ckpt'), '--backend', 'cpu', '--log-every', '1', '--output', at('resumed.safetensors')]));
  expect(resumed.result).toBe(0);
  expect(resumed.stderr).toContain(`fcnet: resuming ${at('run.ckpt')} at epoch 1, step 8 of 19`);
  expect(resumed.stdout[0]).toMatch(/^Epoch \[1\/2\], Step \[8\/19\]/);
  expect(resumed.stdout[resumed.stdout.length - 1]).toBe(whole.stdout[whole.stdout.length - 1]); // the accuracy line
  const expected = weightsOf(at('whole.safetensors'));
  const actual = weightsOf(at('resumed.safetensors'));
  for (const name of Object.keys(expected)) expect(actual[name].data).toEqual(expected[name].data);
  // Without --checkpoint, the resumed run went on saving to the file it came from: now at the run's end.
  expect(loadTrainingCheckpoint(at('run.ckpt')).position).toMatchObject({ epoch: 2, step: 0 });
});

test('--checkpoint-every N saves after every N steps, counted across epochs, and at the end', async () => {
  const seen: Record<string, unknown> = {};
  const path = at('every5.ckpt');
  const { error } = await captureConsole(
    () => trainCommand(['--data', folder, ...run, '--log-every', '1', '--checkpoint', path, '--checkpoint-every', '5', '--output', at('every.safetensors')]),
    (line) => {
      // Read the file at the step after a save: it holds the position right after the saved step.
      if (line.startsWith('Epoch [1/2], Step [11/19]')) seen.step11 = loadTrainingCheckpoint(path).position;
      if (line.startsWith('Epoch [2/2], Step [2/19]')) seen.step21 = loadTrainingCheckpoint(path).position;
    },
  );
  expect(error).toBeUndefined();
  expect(seen.step11).toMatchObject({ epoch: 0, step: 10 });
  expect(seen.step21).toMatchObject({ epoch: 1, step: 1 }); // global step 20 = epoch 2's first
  const end = loadTrainingCheckpoint(path);
  expect(end.position).toMatchObject({ epoch: 2, step: 0 });
  expect(end.settings).toEqual({ epochs: 2, batchSize: 16, seed: 3, lr: 0.01, hidden: [16] });
  expect(2 * STEPS_PER_EPOCH % 5).not.toBe(0); // so the save at the end is the extra one
});

test('a resumed run refuses a setting that differs from its checkpoint, and accepts the same one', async () => {
  const path = at('every5.ckpt'); // from the test before
  const conflict = await captureConsole(() => main(['train', '--data', folder, '--resume', path, '--epochs', '3', '--output', at('x.safetensors')]));
  expect(conflict.result).toBe(2);
  expect(conflict.stderr).toEqual([`fcnet train: --epochs 3 conflicts with ${path}, whose run has epochs 2; leave --epochs out to continue that run as it was\n${helpHint}`]);
  const lr = await captureConsole(() => main(['train', '--data', folder, '--resume', path, '--lr', '0.1']));
  expect(lr.stderr).toEqual([`fcnet train: --lr 0.1 conflicts with ${path}, whose run has lr 0.01; leave --lr out to continue that run as it was\n${helpHint}`]);
  const same = await captureConsole(() => main(['train', '--data', folder, '--resume', path, '--epochs', '2', '--hidden', '16', '--backend', 'cpu', '--output', at('same.safetensors')]));
  expect(same.result).toBe(0);
});

test('--checkpoint-every without a file to save to is a usage error', async () => {
  const { result, stderr } = await captureConsole(() => main(['train', '--data', folder, '--checkpoint-every', '5']));
  expect(result).toBe(2);
  expect(stderr).toEqual([`fcnet train: --checkpoint-every needs --checkpoint FILE (or --resume FILE) to know where to save\n${helpHint}`]);
});

test('--resume of a file that is not a training checkpoint says so', async () => {
  const { result, stderr } = await captureConsole(() => main(['train', '--data', folder, '--resume', at('whole.safetensors')]));
  expect(result).toBe(1);
  expect(stderr).toEqual([
    `fcnet train: ${at('whole.safetensors')}: not a training checkpoint: its __metadata__ has no 'fcnet.training_checkpoint' (a file of weights alone can be evaluated but not resumed)`,
  ]);
});

// What `fcnet train` prints on a small MNIST-shaped folder: with --plain the reference program's lines
// and nothing more on stdout; with --json one JSON object per line and nothing else; the same training
// either way (the test evaluation after each epoch that --json adds leaves the weights alone).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensorsFile } from '../lib/checkpoint';
import { main } from '../lib/cli/main';
import { trainCommand } from '../lib/cli/train';
import { Rng } from '../lib/rng';
import { captureConsole } from './support/console-capture';
import { syntheticDigits, writeIdxFolder, type ImageSet } from './support/idx-folder';

const SIDE = 8;

const imageSet = (n: number, rng: Rng): ImageSet => syntheticDigits(n, rng, SIDE);

let folder: string;
// 200 images in batches of 16: 13 steps an epoch, the last of 8; a loss line every 5 steps.
const run = ['--epochs', '2', '--batch-size', '16', '--hidden', '16', '--lr', '0.01', '--seed', '5', '--backend', 'cpu', '--log-every', '5'];
const at = (name: string): string => join(folder, name);

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'fcnet-cli-train-output-'));
  const rng = new Rng(7);
  writeIdxFolder(folder, SIDE, imageSet(200, rng), imageSet(40, rng));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

test('--plain prints the reference lines on stdout, exactly, and nothing else', async () => {
  const { stdout, stderr, error } = await captureConsole(() => trainCommand(['--data', folder, ...run, '--plain', '--output', at('plain.safetensors')]));
  expect(error).toBeUndefined();
  const steps = stdout.slice(0, -1);
  expect(steps.map((l) => l.replace(/Loss: \d+\.\d{4}$/, 'Loss: x'))).toEqual([
    'Epoch [1/2], Step [5/13], Loss: x',
    'Epoch [1/2], Step [10/13], Loss: x',
    'Epoch [2/2], Step [5/13], Loss: x',
    'Epoch [2/2], Step [10/13], Loss: x',
  ]);
  expect(stdout[stdout.length - 1]).toMatch(/^Accuracy of the network on the 40 test images: \d+(\.\d+)? %$/);
  // Without a bar, --json or --plots there is no evaluation after each epoch.
  expect(stderr.filter((l) => l.includes('took'))).toEqual([expect.stringMatching(/^fcnet: epoch 1 took \d+\.\d{3} s$/), expect.stringMatching(/^fcnet: epoch 2 took \d+\.\d{3} s$/)]);
});

test('--json prints one JSON object per line for each event, and the same run as --plain', async () => {
  const plain = await captureConsole(() => trainCommand(['--data', folder, ...run, '--plain', '--output', at('plain2.safetensors')]));
  const { stdout, error } = await captureConsole(() =>
    main(['train', '--data', folder, ...run, '--json', '--checkpoint', at('run.ckpt'), '--output', at('json.safetensors')]),
  );
  expect(error).toBeUndefined();
  const events = stdout.map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(events.map((e) => e.event)).toEqual(['start', 'step', 'step', 'epoch', 'checkpoint', 'step', 'step', 'epoch', 'checkpoint', 'end']);

  expect(events[0]).toEqual({
    event: 'start', sizes: [64, 16, 10], backend: 'cpu', epochs: 2, batchSize: 16, lr: 0.01, seed: 5, stepsPerEpoch: 13, trainImages: 200, testImages: 40,
  });
  // The step events carry the numbers of the plain lines, loss in full.
  const steps = events.filter((e) => e.event === 'step');
  const plainLines = plain.stdout.slice(0, -1);
  expect(steps.map((e) => `Epoch [${e.epoch}/${e.epochs}], Step [${e.step}/${e.steps}], Loss: ${(e.loss as number).toFixed(4)}`)).toEqual(plainLines);
  expect(steps[0]).toEqual({ event: 'step', epoch: 1, epochs: 2, step: 5, steps: 13, loss: expect.any(Number) });

  const epochs = events.filter((e) => e.event === 'epoch');
  expect(epochs[1]).toEqual({
    event: 'epoch', epoch: 2, epochs: 2, seconds: expect.any(Number), meanLoss: expect.any(Number), samplesPerSecond: expect.any(Number),
    testAccuracy: expect.any(Number), testLoss: expect.any(Number),
  });
  expect(events[4]).toEqual({ event: 'checkpoint', file: at('run.ckpt'), epoch: 1, step: 0 });

  const end = events[events.length - 1];
  expect(end).toEqual({ event: 'end', accuracy: expect.any(Number), correct: expect.any(Number), n: 40, loss: expect.any(Number), output: at('json.safetensors'), seconds: expect.any(Number) });
  // The last epoch's test accuracy is the final one: the same network on the same images.
  expect(epochs[1].testAccuracy).toBe(end.accuracy);
  expect(plain.stdout[plain.stdout.length - 1]).toBe(`Accuracy of the network on the 40 test images: ${(100 * (end.correct as number)) / 40} %`);

  const expected = readSafetensorsFile(at('plain2.safetensors')).tensors;
  const actual = readSafetensorsFile(at('json.safetensors')).tensors;
  for (const name of Object.keys(expected)) expect(actual[name].data).toEqual(expected[name].data);
});

test('--json with a resumed run says where it resumed', async () => {
  const controller = new AbortController();
  const stopped = await captureConsole(
    () => trainCommand(['--data', folder, ...run, '--plain', '--checkpoint', at('one.ckpt'), '--output', at('unused.safetensors')], controller.signal),
    () => controller.abort(), // Ctrl-C at the first loss line: the run stops after that step
  );
  expect(stopped.error?.message).toMatch(/^interrupted after epoch 1, step 5;/);
  const { stdout, error } = await captureConsole(() => trainCommand(['--data', folder, '--resume', at('one.ckpt'), '--log-every', '5', '--json', '--output', at('resumed.safetensors')]));
  expect(error).toBeUndefined();
  const events = stdout.map((line) => JSON.parse(line));
  expect(events[0]).toMatchObject({ event: 'start', epochs: 2, resumeAt: { epoch: 1, step: 6 } });
  expect(events.filter((e) => e.event === 'step').map((e) => [e.epoch, e.step])).toEqual([[1, 10], [2, 5], [2, 10]]);
  expect(events.filter((e) => e.event === 'epoch').map((e) => e.epoch)).toEqual([1, 2]);
});

// The command line on a user's table (issue 14): fcnet train --data table.csv --target COLUMN, fcnet eval and
// fcnet predict on a model file that carries its classes, columns and scaler; eval --normalize for IDX models.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMLP } from '../lib/checkpoint';
import { evalCommand } from '../lib/cli/eval';
import { predictCommand } from '../lib/cli/predict';
import { trainCommand } from '../lib/cli/train';
import { readCsvDataset } from '../lib/data/csv';
import { splitDataset } from '../lib/data/split';
import { fitStandardization } from '../lib/data/standardize';
import { captureConsole } from './support/console-capture';
import { referenceCheckpoint } from './support/fixtures-dir';
import { writeIdxFolder } from './support/idx-folder';
import { writeNpy } from './support/npy-file';

const data = join(__dirname, '..', 'examples', 'data');
const trainCsv = join(data, 'breast-cancer-train.csv');
const testCsv = join(data, 'breast-cancer-test.csv');
let folder: string;
let model: string;
let events: Record<string, unknown>[];
beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'fcnet-own-cli-'));
  model = join(folder, 'cancer.safetensors');
  const run = ['--data', trainCsv, '--target', 'diagnosis', '--standardize', '--hidden', '16', '--epochs', '8', '--batch-size', '16',
    '--validation', '0.2', '--seed', '3', '--backend', 'js', '--output', model, '--json'];
  const { stdout, error } = await captureConsole(() => trainCommand(run));
  if (error) throw error;
  events = stdout.map((line) => JSON.parse(line));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

test('train: the class count, the held-out rows and the scaler come from the table; the file records them', async () => {
  expect(events[0]).toMatchObject({ event: 'start', sizes: [30, 16, 2], trainImages: 227, testImages: 57, samples: 'rows' });
  const epochs = events.filter((e) => e.event === 'epoch');
  expect(epochs).toHaveLength(8);
  expect(epochs[7]).toMatchObject({ lr: 0.001, validation: { loss: expect.any(Number), accuracy: expect.any(Number) } });
  expect(events[events.length - 1]).toMatchObject({ event: 'end', rows: 'validation', n: 57 });
  const saved = loadMLP(model, { backend: 'js' });
  expect(saved.classNames).toEqual(['benign', 'malignant']);
  expect(saved.targetNames).toEqual(['diagnosis']);
  expect(saved.featureNames![0]).toBe('mean_radius');
  // The scaler was fitted on the training part only: the same split, seeded as fit's.
  const table = await readCsvDataset(trainCsv, { target: 'diagnosis' });
  expect(saved.spec.inputMean).toEqual(fitStandardization(splitDataset(table, 0.2, { seed: 3 }).train).mean);
});

test('eval: accuracy, per-class report and confusion matrix; a file with its columns reordered gives the same numbers', async () => {
  const run = async (file: string): Promise<Record<string, unknown>> => {
    const { stdout, error } = await captureConsole(() => evalCommand([model, '--data', file, '--backend', 'js', '--json']));
    if (error) throw error;
    return JSON.parse(stdout[0]);
  };
  const result = await run(testCsv);
  expect(result.n).toBe(285);
  expect(result.accuracy as number).toBeGreaterThan(0.85);
  expect((result.confusion as number[][]).flat().reduce((a, b) => a + b, 0)).toBe(285);
  const lines = readFileSync(testCsv, 'utf8').trim().split('\n').map((l) => l.split(','));
  const order = lines[0].map((_, i) => i).reverse();
  const reordered = join(folder, 'reordered.csv');
  writeFileSync(reordered, lines.map((cells) => order.map((i) => cells[i]).join(',')).join('\n') + '\n');
  expect(await run(reordered)).toEqual(result);
});

test('predict: one row of CSV per input row, with the saved class names', async () => {
  const rows = join(folder, 'rows.csv');
  const lines = readFileSync(testCsv, 'utf8').trim().split('\n').slice(0, 4).map((l) => l.split(',').slice(0, 30).join(','));
  writeFileSync(rows, lines.join('\n') + '\n');
  const { stdout, error } = await captureConsole(() => predictCommand([model, '--data', rows, '--backend', 'js']));
  if (error) throw error;
  const out = stdout.join('\n').split('\n');
  expect(out[0]).toBe('prediction,p_benign,p_malignant');
  expect(out).toHaveLength(4);
  for (const line of out.slice(1)) {
    const [name, a, b] = line.split(',');
    expect(['benign', 'malignant']).toContain(name);
    expect(Number(a) + Number(b)).toBeCloseTo(1, 6);
  }
});

test.each([
  [['--early-stop', '3'], '--early-stop watches the validation loss: add --validation FRACTION'],
  [['--momentum', '0.9'], '--momentum is SGD\'s: add --optimizer sgd (got --optimizer adam)'],
  [['--validation', '1'], "Expected number above 0 and below 1 for --validation but received '1'"],
  [['--loss', 'mse'], "--loss mse does not fit task 'classify' (cross_entropy)"],
  [['--lr-schedule', 'step:0'], "Expected cosine, step:N[:GAMMA] or plateau[:PATIENCE[:FACTOR]] for --lr-schedule but received 'step:0'"],
  [['--clip-grad-norm', '0'], "Expected number above 0 for --clip-grad-norm but received '0'"],
])('usage mistakes: %j', async (flags, message) => {
  const { error } = await captureConsole(() => trainCommand(['--data', trainCsv, '--target', 'diagnosis', ...flags, '--output', join(folder, 'never.safetensors')]));
  expect(error?.message).toBe(message);
});

test('a table error names file, line and column before any training', async () => {
  const bad = join(folder, 'bad.csv');
  writeFileSync(bad, 'a,b,y\n1,2,x\n3,four,y\n');
  const { error } = await captureConsole(() => trainCommand(['--data', bad, '--target', 'y', '--output', join(folder, 'never.safetensors')]));
  expect(error?.message).toBe(`${bad}: line 3, column 'b': 'four' is not a number; encode categories as numbers first (one 0/1 column per category), or --ignore the column`);
});

test('eval --normalize applies (x − mean) / std to every pixel: 0,1 changes nothing, 0.1307,0.3081 changes the logits', async () => {
  const run = async (...flags: string[]): Promise<{ accuracy: number; loss: number }> => {
    const { stdout, error } = await captureConsole(() => evalCommand([referenceCheckpoint, '--backend', 'cpu', '--json', ...flags]));
    if (error) throw error;
    return JSON.parse(stdout[0]);
  };
  const plain = await run();
  expect(await run('--normalize', '0,1')).toEqual(plain);
  expect((await run('--normalize', '0.1307,0.3081')).loss).not.toBe(plain.loss);
  const { error } = await captureConsole(() => evalCommand([referenceCheckpoint, '--normalize', '0.1,0']));
  expect(error?.message).toBe("Expected MEAN,STD (two numbers, STD above 0, e.g. 0.1307,0.3081) for --normalize but received '0.1,0'");
});

test('IDX files with 47 classes (EMNIST Balanced\'s count) train a network of 47 outputs', async () => {
  const idx = join(folder, 'idx47');
  mkdirSync(idx);
  const set = (n: number): { images: Uint8Array; labels: Uint8Array } => ({
    images: Uint8Array.from({ length: n * 49 }, (_, i) => (i * 31) % 256),
    labels: Uint8Array.from({ length: n }, (_, i) => i % 47),
  });
  writeIdxFolder(idx, 7, set(94), set(47));
  const output = join(folder, 'idx47.safetensors');
  const { stdout, error } = await captureConsole(() => trainCommand(['--data', idx, '--hidden', '8', '--epochs', '1', '--batch-size', '47', '--backend', 'js', '--output', output, '--json']));
  if (error) throw error;
  expect(JSON.parse(stdout[0])).toMatchObject({ event: 'start', sizes: [49, 8, 47] });
  expect(loadMLP(output, { backend: 'js' }).sizes).toEqual([49, 8, 47]);
});

test('.npy features and class indices: the class count is the largest index + 1', async () => {
  const N = 120, D = 4;
  const x = Float32Array.from({ length: N * D }, (_, i) => Math.sin(i * 0.7));
  writeNpy(join(folder, 'x.npy'), '<f4', [N, D], x);
  writeNpy(join(folder, 'y.npy'), '<i4', [N], Int32Array.from({ length: N }, (_, i) => (x[i * D] > 0.3 ? 2 : x[i * D] > -0.3 ? 1 : 0)));
  const output = join(folder, 'npy.safetensors');
  const { stdout, error } = await captureConsole(() => trainCommand(['--data', join(folder, 'x.npy'), '--target', join(folder, 'y.npy'), '--hidden', '8', '--epochs', '2', '--backend', 'js', '--output', output, '--json']));
  if (error) throw error;
  expect(JSON.parse(stdout[0])).toMatchObject({ event: 'start', sizes: [4, 8, 3] });
});

test('--optimizer sgd --lr-schedule step:2:0.5 --clip-grad-norm 1: the epochs run with the lrs of torch\'s StepLR', async () => {
  const { stdout, error } = await captureConsole(() => trainCommand(['--data', trainCsv, '--target', 'diagnosis', '--standardize', '--hidden', '8', '--epochs', '5',
    '--optimizer', 'sgd', '--momentum', '0.9', '--lr', '0.05', '--lr-schedule', 'step:2:0.5', '--clip-grad-norm', '1', '--backend', 'js',
    '--output', join(folder, 'sgd.safetensors'), '--json']));
  if (error) throw error;
  const lrs = stdout.map((line) => JSON.parse(line)).filter((e) => e.event === 'epoch').map((e) => e.lr);
  expect(lrs).toEqual([0.05, 0.05, 0.025, 0.025, 0.0125]);
});

test('--from-disk trains on the .npy batch by batch to the same weights file as in memory', async () => {
  const N = 90, D = 3;
  const x = Float32Array.from({ length: N * D }, (_, i) => Math.cos(i * 0.9));
  const y = Int32Array.from({ length: N }, (_, i) => (x[i * D] > 0 ? 1 : 0));
  writeNpy(join(folder, 'dx.npy'), '<f4', [N, D], x);
  writeNpy(join(folder, 'dy.npy'), '<i4', [N], y);
  const run = async (name: string, ...extra: string[]): Promise<Buffer> => {
    const output = join(folder, name);
    const { error } = await captureConsole(() => trainCommand(['--data', join(folder, 'dx.npy'), '--target', join(folder, 'dy.npy'), '--hidden', '5', '--epochs', '3',
      '--batch-size', '8', '--backend', 'cpu', '--output', output, '--plain', ...extra]));
    if (error) throw error;
    return readFileSync(output);
  };
  expect(await run('disk.safetensors', '--from-disk')).toEqual(await run('memory.safetensors'));
  const { error } = await captureConsole(() => trainCommand(['--data', join(folder, 'dx.npy'), '--target', join(folder, 'dy.npy'), '--from-disk', '--validation', '0.2', '--output', join(folder, 'never.safetensors')]));
  expect(error?.message).toBe('--from-disk trains on every row as it lies on disk: --validation and --standardize need the rows in memory');
});

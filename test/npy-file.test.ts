// Training from a .npy file on disk (issue 14): batches read with positioned reads in the shuffled order give
// the same bits as the same array in memory; evaluation from disk gives the same figures.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam } from '../lib/adam';
import { backends } from '../lib/backends';
import { openNpyFileDataset } from '../lib/data/npy-file';
import { readNpyDataset } from '../lib/data/npy';
import { MLP } from '../lib/model';
import { SGD, type Optimizer } from '../lib/optimizers';
import { evaluate, fit } from '../lib/train';
import { writeNpy } from './support/npy-file';

const available = backends().filter((b) => b.available && b.name !== 'cuda').map((b) => b.name);
let folder: string;
beforeAll(() => (folder = mkdtempSync(join(tmpdir(), 'fcnet-npy-file-'))));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const N = 203, D = 11;
const x64 = Float64Array.from({ length: N * D }, (_, i) => Math.sin(i * 0.731) * 3 + (i % D));
const y = BigInt64Array.from({ length: N }, (_, i) => BigInt(Math.floor((Math.sin(i) + 1) * 1.5)));

describe.each(available)('on %s', (backend) => {
  test.each([
    ['Adam', (m: MLP): Optimizer => new Adam(m, { lr: 0.01 })],
    ['SGD', (m: MLP): Optimizer => new SGD(m, { lr: 0.05, momentum: 0.9 })],
  ])('%s: float64 features from disk train to the same bits as in memory', async (_, make) => {
    const xFile = join(folder, 'x.npy'), yFile = join(folder, 'y.npy');
    writeNpy(xFile, '<f8', [N, D], x64);
    writeNpy(yFile, '<i8', [N], y);
    const inMemory = readNpyDataset(xFile, yFile);
    const onDisk = openNpyFileDataset(xFile, yFile);
    const run = async (data: Parameters<typeof fit>[2]): Promise<MLP> => {
      const model = new MLP({ sizes: [D, 9, 3], seed: 2, backend, input: 'features', inputMean: new Array(D).fill(3), inputStd: new Array(D).fill(2) });
      await fit(model, make(model), data, { epochs: 3, batchSize: 16, seed: 5 });
      return model;
    };
    const a = await run(inMemory);
    const b = await run(onDisk);
    expect(b.buffers.params).toEqual(a.buffers.params);
    expect(evaluate(b, onDisk, 50)).toEqual(evaluate(b, inMemory, 50));
  });

  test('uint8 pixels from disk train as the pixels in memory', async () => {
    const xFile = join(folder, 'px.npy'), yFile = join(folder, 'py.npy');
    const pixels = Uint8Array.from({ length: N * D }, (_, i) => (i * 37) % 256);
    writeNpy(xFile, '|u1', [N, D], pixels);
    writeNpy(yFile, '<i8', [N], y);
    const run = async (data: Parameters<typeof fit>[2]): Promise<Float32Array> => {
      const model = new MLP({ sizes: [D, 9, 3], seed: 2, backend });
      await fit(model, new Adam(model), data, { epochs: 2, batchSize: 10, seed: 1 });
      return model.buffers.params;
    };
    expect(await run(openNpyFileDataset(xFile, yFile))).toEqual(await run(readNpyDataset(xFile, yFile)));
  });
});

test('a NaN on disk stops training naming its row; validationSplit is refused', async () => {
  const bad = Float32Array.from({ length: 20 * 2 }, (_, i) => i);
  bad[2 * 13 + 1] = NaN;
  const xFile = join(folder, 'nan.npy'), yFile = join(folder, 'nan-y.npy');
  writeNpy(xFile, '<f4', [20, 2], bad);
  writeNpy(yFile, '<i4', [20], Int32Array.from({ length: 20 }, (_, i) => i % 2));
  const model = new MLP({ sizes: [2, 3, 2], backend: 'js', input: 'features' });
  await expect(fit(model, new Adam(model), openNpyFileDataset(xFile, yFile), { epochs: 1, batchSize: 20 })).rejects.toThrow(`${xFile}: row 13, feature 1 is NaN; features must be finite`);
  await expect(fit(model, new Adam(model), openNpyFileDataset(xFile, yFile), { validationSplit: 0.2 })).rejects.toThrow('fit: a dataset on disk takes validationData, not validationSplit');
});

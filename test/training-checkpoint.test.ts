// Training checkpoints: what the file holds, that it still reads as plain weights, and a clear error,
// naming the file and the field, for every way it can be wrong.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam } from '../lib/adam';
import {
  loadTrainingCheckpoint,
  readModelWeights,
  readSafetensorsFile,
  saveTrainingCheckpoint,
  writeSafetensorsFile,
  type SafetensorsContents,
  type TrainingSettings,
} from '../lib/checkpoint';
import { createDataset } from '../lib/data/dataset';
import { MLP } from '../lib/model';
import { fit, type TrainingPosition } from '../lib/train';
import { fcnetVersion } from '../lib/version';

const SIZES = [4, 3, 2];
const SETTINGS: TrainingSettings = { epochs: 2, batchSize: 2, seed: 5, lr: 0.01, hidden: [3] };
const POSITION: TrainingPosition = { epoch: 1, step: 1, rngState: [1, 2, 3, 4294967295] };

let folder: string;
let model: MLP;
let optimizer: Adam;
let saved: string;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'fcnet-training-checkpoint-'));
  model = new MLP({ sizes: SIZES, seed: 1, backend: 'js' });
  optimizer = new Adam(model, { lr: SETTINGS.lr, betas: [0.8, 0.99], eps: 1e-7 });
  const data = createDataset(Uint8Array.from({ length: 5 * 4 }, (_, i) => (i * 37) % 256), [0, 1, 1, 0, 1], [2, 2]);
  await fit(model, optimizer, data, { epochs: 1, batchSize: 2 }); // 3 steps: the moments are not 0
  saved = join(folder, 'run.safetensors');
  saveTrainingCheckpoint(saved, model, optimizer, POSITION, SETTINGS);
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** A copy of the saved checkpoint with `change` applied to its contents; returns the copy's path. */
function variant(name: string, change: (contents: SafetensorsContents) => void): string {
  const contents = readSafetensorsFile(saved);
  change(contents);
  const path = join(folder, `${name}.safetensors`);
  writeSafetensorsFile(path, contents.tensors, contents.metadata);
  return path;
}

const loadError = (path: string): string => {
  try {
    loadTrainingCheckpoint(path);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`loadTrainingCheckpoint accepted ${path}`);
};

describe('the file', () => {
  test("holds the parameters under their PyTorch names, then each one's moments, and JSON metadata", () => {
    const { tensors, metadata } = readSafetensorsFile(saved);
    const names = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'];
    expect(Object.keys(tensors)).toEqual([...names, ...names.flatMap((n) => [`adam.exp_avg.${n}`, `adam.exp_avg_sq.${n}`])]);
    expect(tensors['fc1.weight'].shape).toEqual([3, 4]);
    expect(tensors['adam.exp_avg_sq.fc2.bias'].shape).toEqual([2]);
    expect(metadata).toEqual({
      format: 'pt',
      'fcnet.training_checkpoint': '1',
      'fcnet.version': JSON.stringify(fcnetVersion()),
      'fcnet.sizes': '[4,3,2]',
      'fcnet.adam': '{"step":3,"lr":0.01,"betas":[0.8,0.99],"eps":1e-7,"weight_decay":0}',
      'fcnet.position': '{"epoch":1,"step":1,"rng_state":[1,2,3,4294967295]}',
      'fcnet.settings': '{"epochs":2,"batch_size":2,"seed":5,"lr":0.01,"hidden":[3]}',
    });
  });

  test('loads back exactly: parameters, Adam state in torch.optim.Adam shape, position, settings', () => {
    const checkpoint = loadTrainingCheckpoint(saved);
    expect(checkpoint.sizes).toEqual(SIZES);
    expect(checkpoint.position).toEqual(POSITION);
    expect(checkpoint.settings).toEqual(SETTINGS);
    expect(checkpoint.fcnetVersion).toBe(fcnetVersion());
    for (const name of ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']) {
      expect(checkpoint.parameters[name].data).toEqual(model.view(name));
    }
    expect(checkpoint.adam).toEqual(optimizer.stateDict());
  });

  test('reads as plain weights too (the Adam tensors left out)', () => {
    const weights = readModelWeights(saved);
    expect(weights.format).toBe('training checkpoint');
    expect(weights.sizes).toEqual(SIZES);
    expect(Object.keys(weights.parameters)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
  });

  test('before the first step, Adam has no state and the moments are 0', () => {
    const fresh = new MLP({ sizes: SIZES, backend: 'js' });
    const path = join(folder, 'fresh.safetensors');
    saveTrainingCheckpoint(path, fresh, new Adam(fresh), { epoch: 0, step: 0, rngState: [9, 9, 9, 9] }, SETTINGS);
    const checkpoint = loadTrainingCheckpoint(path);
    expect(checkpoint.adam.state).toEqual({});
    expect(checkpoint.adam.param_groups[0]).toMatchObject({ lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0 });
  });
});

describe('loading refuses, naming the file and the field', () => {
  const cases: [string, (c: SafetensorsContents) => void, string][] = [
    ['weights only', (c) => delete c.metadata['fcnet.training_checkpoint'],
      "not a training checkpoint: its __metadata__ has no 'fcnet.training_checkpoint' (a file of weights alone can be evaluated but not resumed)"],
    ['newer format', (c) => (c.metadata['fcnet.training_checkpoint'] = '2'),
      `training checkpoint format 2 is newer than this fcnet (${fcnetVersion()}) reads (1); upgrade fcnet to resume it`],
    ['odd format', (c) => (c.metadata['fcnet.training_checkpoint'] = '"one"'),
      "__metadata__ 'fcnet.training_checkpoint' must be 1 but is \"one\""],
    ['no position', (c) => delete c.metadata['fcnet.position'], "__metadata__ has no 'fcnet.position'"],
    ['position not JSON', (c) => (c.metadata['fcnet.position'] = '{epoch: 1}'), "__metadata__ 'fcnet.position' is not valid JSON: {epoch: 1}"],
    ['position not an object', (c) => (c.metadata['fcnet.position'] = '[1,1]'),
      "__metadata__ 'fcnet.position' must be a JSON object with epoch, step, rng_state but is [1,1]"],
    ['position without step', (c) => (c.metadata['fcnet.position'] = '{"epoch":1,"rng_state":[1,2,3,4]}'), "__metadata__ 'fcnet.position' has no 'step'"],
    ['negative step', (c) => (c.metadata['fcnet.position'] = '{"epoch":1,"step":-1,"rng_state":[1,2,3,4]}'),
      "__metadata__ 'fcnet.position' field 'step' must be an integer from 0 but is -1"],
    ['epoch past the run', (c) => (c.metadata['fcnet.position'] = '{"epoch":3,"step":0,"rng_state":[1,2,3,4]}'),
      "__metadata__ 'fcnet.position' field 'epoch' must be an integer from 0 to 2 but is 3"],
    ['short rng state', (c) => (c.metadata['fcnet.position'] = '{"epoch":1,"step":0,"rng_state":[1,2,3]}'),
      "__metadata__ 'fcnet.position' field 'rng_state' must be an array of 4 integers from 0 to 4294967295 but is [1,2,3]"],
    ['zero rng state', (c) => (c.metadata['fcnet.position'] = '{"epoch":1,"step":0,"rng_state":[0,0,0,0]}'),
      "__metadata__ 'fcnet.position' field 'rng_state' must be not all 0 but is [0,0,0,0]"],
    ['unknown adam field', (c) => (c.metadata['fcnet.adam'] = '{"step":3,"lr":0.01,"betas":[0.8,0.99],"eps":1e-7,"weight_decay":0,"amsgrad":true}'),
      "__metadata__ 'fcnet.adam' has an unknown field 'amsgrad' (expected step, lr, betas, eps, weight_decay)"],
    ['string lr', (c) => (c.metadata['fcnet.adam'] = '{"step":3,"lr":"0.01","betas":[0.8,0.99],"eps":1e-7,"weight_decay":0}'),
      "__metadata__ 'fcnet.adam' field 'lr' must be a number above 0 up to 1000 but is \"0.01\""],
    ['eps 0', (c) => (c.metadata['fcnet.adam'] = '{"step":3,"lr":0.01,"betas":[0.8,0.99],"eps":0,"weight_decay":0}'),
      "__metadata__ 'fcnet.adam' field 'eps' must be a number above 0 up to 1 but is 0"],
    ['fractional adam step', (c) => (c.metadata['fcnet.adam'] = '{"step":2.5,"lr":0.01,"betas":[0.8,0.99],"eps":1e-7,"weight_decay":0}'),
      "__metadata__ 'fcnet.adam' field 'step' must be an integer from 0 to 9007199254740990 but is 2.5"],
    ['adam step past exact integers', (c) => (c.metadata['fcnet.adam'] = '{"step":9007199254740991,"lr":0.01,"betas":[0.8,0.99],"eps":1e-7,"weight_decay":0}'),
      "__metadata__ 'fcnet.adam' field 'step' must be an integer from 0 to 9007199254740990 but is 9007199254740991"],
    ['beta 1', (c) => (c.metadata['fcnet.adam'] = '{"step":3,"lr":0.01,"betas":[0.8,1],"eps":1e-7,"weight_decay":0}'),
      "__metadata__ 'fcnet.adam' field 'betas' must be a number from 0 to 0.999999999 but is 1"],
    ['settings batch size 0', (c) => (c.metadata['fcnet.settings'] = '{"epochs":2,"batch_size":0,"seed":5,"lr":0.01,"hidden":[3]}'),
      "__metadata__ 'fcnet.settings' field 'batch_size' must be an integer from 1 but is 0"],
    ['settings and sizes disagree', (c) => (c.metadata['fcnet.settings'] = '{"epochs":2,"batch_size":2,"seed":5,"lr":0.01,"hidden":[4]}'),
      "__metadata__ 'fcnet.settings' field 'hidden' is [4] but 'fcnet.sizes' is [4,3,2]"],
    ['missing moment', (c) => delete c.tensors['adam.exp_avg.fc2.bias'], "missing tensor 'adam.exp_avg.fc2.bias'"],
    ['stray tensor', (c) => (c.tensors['fc3.bias'] = { shape: [2], data: new Float32Array(2) }), "unexpected tensor 'fc3.bias'"],
    ['wrong shape', (c) => (c.tensors['fc1.weight'].shape = [4, 3]), "tensor 'fc1.weight': shape [4, 3] but expected [3, 4]"],
    ['sizes that the tensors do not have', (c) => (c.metadata['fcnet.sizes'] = '[4,5,2]') && (c.metadata['fcnet.settings'] = '{"epochs":2,"batch_size":2,"seed":5,"lr":0.01,"hidden":[5]}'),
      "tensor 'fc1.weight': shape [3, 4] but expected [5, 4]"],
    ['negative second moment', (c) => (c.tensors['adam.exp_avg_sq.fc1.bias'].data[2] = -1), "tensor 'adam.exp_avg_sq.fc1.bias' holds -1 at index 2"],
    ['NaN parameter', (c) => (c.tensors['fc2.weight'].data[0] = NaN), "tensor 'fc2.weight' holds NaN at index 0"],
    ['moments without steps', (c) => (c.metadata['fcnet.adam'] = '{"step":0,"lr":0.01,"betas":[0.8,0.99],"eps":1e-7,"weight_decay":0}'),
      "Adam's step is 0 but the moments of 'fc1.weight' are not all 0 (shape [3, 4])"],
  ];
  test.each(cases)('%s', (name, change, problem) => {
    const path = variant(name.replace(/ /g, '-'), change);
    expect(loadError(path)).toBe(`${path}: ${problem}`);
  });

  test('a file that is not safetensors at all', () => {
    const path = join(folder, 'garbage.safetensors');
    writeSafetensorsFile(path, {}); // valid, but empty and with no metadata
    expect(loadError(path)).toBe(`${path}: not a training checkpoint: its __metadata__ has no 'fcnet.training_checkpoint' (a file of weights alone can be evaluated but not resumed)`);
  });
});

describe('saving checks its arguments', () => {
  const saveError = (position: unknown, settings: unknown, other?: Adam): string => {
    try {
      saveTrainingCheckpoint(join(folder, 'unused.safetensors'), model, other ?? optimizer, position as TrainingPosition, settings as TrainingSettings);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('saveTrainingCheckpoint accepted its arguments');
  };

  test('settings that do not describe the model', () => {
    expect(saveError(POSITION, { ...SETTINGS, hidden: [500] })).toBe("Expected the model's hidden widths [3] for settings.hidden but received Array of length 1");
    expect(saveError(POSITION, { ...SETTINGS, batchSize: 0 })).toBe('Expected integer at least 1 for settings.batchSize but received 0 of type number');
  });

  test('a position outside the run', () => {
    expect(saveError({ ...POSITION, epoch: 3 }, SETTINGS)).toBe('Expected integer between 0 and 2 for position.epoch but received 3 of type number');
    expect(saveError({ ...POSITION, rngState: [0, 0, 0, 0] }, SETTINGS)).toBe('Expected 4 unsigned 32-bit integers (not all 0) for position.rngState but received Array of length 4');
  });

  test("another model's optimizer", () => {
    const other = new Adam(new MLP({ sizes: SIZES, backend: 'js' }));
    expect(saveError(POSITION, SETTINGS, other)).toBe('saveTrainingCheckpoint: the optimizer was made for another model');
  });
});

// SGD and AdamW in training checkpoints: a run stopped after any step and resumed from the file (a new model and
// optimizer, everything from the file) ends with the same bits as the run that was never stopped; the file's
// optimizer entry is checked field by field.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends } from '../lib/backends';
import { loadTrainingCheckpoint, readSafetensorsFile, restoreOptimizer, saveTrainingCheckpoint, writeSafetensorsFile } from '../lib/checkpoint';
import { createFeatureDataset } from '../lib/data/dataset';
import { MLP } from '../lib/model';
import { AdamW, SGD, type Optimizer } from '../lib/optimizers';
import { fit } from '../lib/train';

const available = backends().filter((b) => b.available && b.name !== 'cuda').map((b) => b.name);
const N = 60, D = 5;
const features = Float32Array.from({ length: N * D }, (_, i) => Math.sin(i * 0.37));
const data = createFeatureDataset(features, Array.from({ length: N }, (_, i) => (features[i * D] > 0 ? 1 : 0) + (features[i * D + 1] > 0.5 ? 1 : 0)), D);
const SETTINGS = { epochs: 3, batchSize: 8, seed: 4, lr: 0.05, hidden: [7] };
const RUN = { epochs: 3, batchSize: 8, seed: 4 };
const makers: [string, (m: MLP) => Optimizer][] = [
  ['sgd (momentum, dampening, decay)', (m) => new SGD(m, { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-3 })],
  ['sgd (nesterov)', (m) => new SGD(m, { lr: 0.05, momentum: 0.8, nesterov: true })],
  ['adamw', (m) => new AdamW(m, { lr: 0.01, weightDecay: 0.05 })],
];
let folder: string;
beforeAll(() => (folder = mkdtempSync(join(tmpdir(), 'fcnet-opt-resume-'))));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe.each(available)('on %s', (backend) => {
  test.each(makers)('%s: stopped after step 10 and resumed from the file, the same bits as never stopped', async (_, make) => {
    const fresh = (): MLP => new MLP({ sizes: [D, 7, 3], seed: 1, backend, input: 'features' });
    const whole = fresh();
    const wholeOptimizer = make(whole);
    await fit(whole, wholeOptimizer, data, RUN);

    const first = fresh();
    const firstOptimizer = make(first);
    const file = join(folder, `${backend}-${firstOptimizer.constructor.name}.safetensors`);
    class Stop extends Error {}
    await expect(fit(first, firstOptimizer, data, {
      ...RUN,
      onStep: ({ epoch, step, position }) => {
        if (epoch * 8 + step + 1 === 10) {
          saveTrainingCheckpoint(file, first, firstOptimizer, position, SETTINGS);
          throw new Stop();
        }
      },
    })).rejects.toBeInstanceOf(Stop);

    const checkpoint = loadTrainingCheckpoint(file);
    expect(checkpoint.adam).toBeNull();
    const resumed = new MLP({ sizes: checkpoint.sizes, seed: 99, backend, input: 'features' });
    resumed.loadStateDict(checkpoint.parameters);
    const optimizer = restoreOptimizer(resumed, checkpoint.optimizer!);
    expect(optimizer.step).toBe(10);
    await fit(resumed, optimizer, data, { ...RUN, resume: checkpoint.position });
    expect(resumed.buffers.params).toEqual(whole.buffers.params);
    expect(resumed.buffers.m).toEqual(whole.buffers.m);
    expect(resumed.buffers.v).toEqual(whole.buffers.v);
    expect(optimizer.step).toBe(wholeOptimizer.step);
  });
});

test('a malformed optimizer entry or a missing buffer is refused, naming the file', () => {
  const model = new MLP({ sizes: [D, 7, 3], backend: 'js', input: 'features' });
  const file = join(folder, 'sgd.safetensors');
  saveTrainingCheckpoint(file, model, new SGD(model, { momentum: 0.9 }), { epoch: 0, step: 0, rngState: [1, 2, 3, 4] }, SETTINGS);
  const contents = readSafetensorsFile(file);
  expect(JSON.parse(contents.metadata['fcnet.optimizer'])).toEqual({ kind: 'sgd', step: 0, lr: 0.01, initial_lr: 0.01, momentum: 0.9, dampening: 0, nesterov: false, weight_decay: 0 });
  const bad = join(folder, 'bad.safetensors');
  writeSafetensorsFile(bad, contents.tensors, { ...contents.metadata, 'fcnet.optimizer': '{"kind":"rmsprop"}' });
  expect(() => loadTrainingCheckpoint(bad)).toThrow(`${bad}: __metadata__ 'fcnet.optimizer' field 'kind' must be 'sgd' or 'adamw' but is "rmsprop"`);
  const { ['sgd.momentum_buffer.fc1.bias']: _dropped, ...rest } = contents.tensors;
  writeSafetensorsFile(bad, rest, contents.metadata);
  expect(() => loadTrainingCheckpoint(bad)).toThrow(/sgd\.momentum_buffer\.fc1\.bias/);
});

describe.each(available)('the whole run state on %s', (backend) => {
  // 8 steps an epoch: step 19 is the third of epoch 3; step 16 the last of epoch 2, where onStep's position is the
  // next epoch's start and its run state must already hold epoch 2's validation, schedule and early stopping.
  test.each([['mid-epoch', 8 * 2 + 3], ["at an epoch's last step", 8 * 2]])('schedule, early stopping and best weights resume bit for bit from a checkpoint taken %s', async (_where, stopAt) => {
    const validation = createFeatureDataset(features.slice(0, 20 * D), Array.from({ length: 20 }, (_, i) => i % 3), D);
    const run = { epochs: 12, batchSize: 8, seed: 4, validationData: validation, lrSchedule: { kind: 'plateau' as const, patience: 1, factor: 0.5 }, earlyStopping: { patience: 3 } };
    const fresh = (): MLP => new MLP({ sizes: [D, 7, 3], seed: 1, backend, input: 'features' });
    const whole = fresh();
    const lrs: number[] = [];
    const wholeResult = await fit(whole, new SGD(whole, { lr: 0.5, momentum: 0.9 }), data, { ...run, onEpoch: (e) => { lrs.push(e.lr); } });

    const first = fresh();
    const optimizer = new SGD(first, { lr: 0.5, momentum: 0.9 });
    const file = join(folder, `run-state-${backend}.safetensors`);
    class Stop extends Error {}
    await expect(fit(first, optimizer, data, {
      ...run,
      onStep: ({ epoch, step, position, runState }) => {
        if (epoch * 8 + step + 1 === stopAt) {
          saveTrainingCheckpoint(file, first, optimizer, position, SETTINGS, runState);
          throw new Stop();
        }
      },
    })).rejects.toBeInstanceOf(Stop);
    const checkpoint = loadTrainingCheckpoint(file);
    expect(checkpoint.runState!.earlyStopping).toMatchObject({ bestEpoch: expect.any(Number) });
    const resumed = new MLP({ sizes: checkpoint.sizes, seed: 99, backend, input: 'features' });
    resumed.loadStateDict(checkpoint.parameters);
    const resumedLrs: number[] = [];
    const result = await fit(resumed, restoreOptimizer(resumed, checkpoint.optimizer!), data, {
      ...run, resume: checkpoint.position, resumeState: checkpoint.runState!, onEpoch: (e) => { resumedLrs.push(e.lr); },
    });
    expect(new Set(lrs).size).toBeGreaterThan(1); // the plateau schedule moved the lr
    expect(wholeResult.stoppedEpoch).not.toBeNull(); // and early stopping ended the run
    expect(wholeResult.stoppedEpoch! > 2).toBe(true); // after the checkpoint
    expect(result.stoppedEpoch).toBe(wholeResult.stoppedEpoch);
    expect(result.bestEpoch).toBe(wholeResult.bestEpoch);
    expect(resumedLrs).toEqual(lrs.slice(2));
    expect(resumed.buffers.params).toEqual(whole.buffers.params);
  });
});

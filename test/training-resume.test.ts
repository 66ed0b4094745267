// Exact resume: a run stopped after any step, saved as a training checkpoint and continued in a NEW model
// and optimizer from that file alone, ends with the same float32 bits as the run that never stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam } from '../lib/adam';
import { loadTrainingCheckpoint, saveTrainingCheckpoint, type TrainingSettings } from '../lib/checkpoint';
import { createDataset, type Dataset } from '../lib/data/dataset';
import { MLP } from '../lib/model';
import { Rng } from '../lib/rng';
import { fit, type StepInfo } from '../lib/train';

const N = 300; // images: 300 / 16 = 18.75, so each epoch ends on a partial batch of 12
const SIDE = 8; // 8×8 images
const SIZES = [SIDE * SIDE, 32, 10];
const SETTINGS: TrainingSettings = { epochs: 3, batchSize: 16, seed: 7, lr: 0.01, hidden: [32] };
const STEPS_PER_EPOCH = Math.ceil(N / SETTINGS.batchSize); // 19
const MODEL_SEED = 3;

/** MNIST-like: mostly zero pixels (so the CPU backend takes its sparse path), the label set by where the ink is. */
function syntheticDataset(): Dataset {
  const rng = new Rng(12345);
  const images = new Uint8Array(N * SIDE * SIDE);
  const labels = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const label = rng.nextInt(10);
    labels[n] = label;
    for (let i = 0; i < SIDE * SIDE; i++) {
      const inked = (i + label) % 5 === 0 || rng.nextFloat() < 0.05;
      images[n * SIDE * SIDE + i] = inked ? 1 + rng.nextInt(255) : 0;
    }
  }
  return createDataset(images, labels, [SIDE, SIDE], 'synthetic 8×8');
}

const data = syntheticDataset();

type Backend = 'cpu' | 'js';

interface RunEnd {
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  adamStep: number;
}

const endOf = (model: MLP, optimizer: Adam): RunEnd => {
  model.syncToHost();
  const { params, m, v } = model.buffers;
  return { params: params.slice(), m: m.slice(), v: v.slice(), adamStep: optimizer.step };
};

const fitOptions = (extra: object = {}) => ({ epochs: SETTINGS.epochs, batchSize: SETTINGS.batchSize, seed: SETTINGS.seed, ...extra });

function freshRun(backend: Backend, modelSeed = MODEL_SEED): { model: MLP; optimizer: Adam } {
  const model = new MLP({ sizes: SIZES, seed: modelSeed, backend });
  return { model, optimizer: new Adam(model, { lr: SETTINGS.lr }) };
}

class Stop extends Error {}

/**
 * Trains from `resumeFrom` (or from scratch), saving a checkpoint and stopping right after global step
 * `stopAfter` (1-based, counted from the run's start). Returns the checkpoint's path.
 */
async function trainAndStop(backend: Backend, folder: string, stopAfter: number, resumeFrom?: string): Promise<string> {
  const path = join(folder, `stop-${stopAfter}.safetensors`);
  const { model, optimizer } = resumeFrom ? resumedRun(backend, resumeFrom) : freshRun(backend);
  const resume = resumeFrom ? loadTrainingCheckpoint(resumeFrom).position : undefined;
  const onStep = ({ epoch, step, position }: StepInfo): void => {
    if (epoch * STEPS_PER_EPOCH + step + 1 === stopAfter) {
      saveTrainingCheckpoint(path, model, optimizer, position, SETTINGS);
      throw new Stop();
    }
  };
  await expect(fit(model, optimizer, data, fitOptions({ onStep, resume }))).rejects.toBeInstanceOf(Stop);
  return path;
}

/** A new model (other initial weights) and optimizer (other lr): everything must come from the file. */
function resumedRun(backend: Backend, path: string): { model: MLP; optimizer: Adam } {
  const checkpoint = loadTrainingCheckpoint(path);
  const model = new MLP({ sizes: checkpoint.sizes, seed: MODEL_SEED + 1000, backend });
  const optimizer = new Adam(model, { lr: 0.5 });
  model.loadStateDict(checkpoint.parameters);
  optimizer.loadStateDict(checkpoint.adam!);
  return { model, optimizer };
}

async function resumeToEnd(backend: Backend, path: string): Promise<RunEnd> {
  const checkpoint = loadTrainingCheckpoint(path);
  const { model, optimizer } = resumedRun(backend, path);
  const { settings } = checkpoint;
  await fit(model, optimizer, data, { epochs: settings.epochs, batchSize: settings.batchSize, seed: settings.seed, resume: checkpoint.position });
  return endOf(model, optimizer);
}

function expectBitIdentical(actual: RunEnd, expected: RunEnd): void {
  expect(actual.adamStep).toBe(expected.adamStep);
  // toEqual on Float32Arrays compares every element (and tells 0 from -0); the bit patterns say the same.
  expect(actual.params).toEqual(expected.params);
  expect(actual.m).toEqual(expected.m);
  expect(actual.v).toEqual(expected.v);
  expect(new Uint32Array(actual.params.buffer)).toEqual(new Uint32Array(expected.params.buffer));
}

describe.each<Backend>(['cpu', 'js'])('backend %s', (backend) => {
  let folder: string;
  let uninterrupted: RunEnd;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), `fcnet-resume-${backend}-`));
    const { model, optimizer } = freshRun(backend);
    await fit(model, optimizer, data, fitOptions());
    uninterrupted = endOf(model, optimizer);
    expect(uninterrupted.adamStep).toBe(SETTINGS.epochs * STEPS_PER_EPOCH);
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  test('the run is repeatable at all: a second uninterrupted run gives the same bits', async () => {
    const { model, optimizer } = freshRun(backend);
    await fit(model, optimizer, data, fitOptions());
    expectBitIdentical(endOf(model, optimizer), uninterrupted);
  });

  // Global steps, 1-based: the first step, mid-epoch, an epoch's last (partial) batch, the first of the
  // next epoch, the last of the middle epoch, and the run's very last step.
  test.each([1, 8, STEPS_PER_EPOCH, STEPS_PER_EPOCH + 1, 2 * STEPS_PER_EPOCH - 5, 2 * STEPS_PER_EPOCH, 3 * STEPS_PER_EPOCH])(
    'stopped after step %i and resumed from the file: bit-identical',
    async (stopAfter) => {
      const path = await trainAndStop(backend, folder, stopAfter);
      const { position } = loadTrainingCheckpoint(path);
      const next = stopAfter % STEPS_PER_EPOCH === 0 ? { epoch: stopAfter / STEPS_PER_EPOCH, step: 0 } : { epoch: Math.floor(stopAfter / STEPS_PER_EPOCH), step: stopAfter % STEPS_PER_EPOCH };
      expect({ epoch: position.epoch, step: position.step }).toEqual(next);
      expectBitIdentical(await resumeToEnd(backend, path), uninterrupted);
    },
  );

  test('stopped twice (a resumed run interrupted again), then resumed: bit-identical', async () => {
    const first = await trainAndStop(backend, folder, 5);
    const second = await trainAndStop(backend, folder, 2 * STEPS_PER_EPOCH + 3, first);
    expectBitIdentical(await resumeToEnd(backend, second), uninterrupted);
  });

  test('a run limited to 1 epoch, checkpointed at its end and resumed for all 3: bit-identical', async () => {
    const { model, optimizer } = freshRun(backend);
    const path = join(folder, 'after-epoch-1.safetensors');
    await fit(model, optimizer, data, fitOptions({
      epochs: 1,
      onEpoch: ({ position }: { position: StepInfo['position'] }) => saveTrainingCheckpoint(path, model, optimizer, position, SETTINGS),
    }));
    expect(loadTrainingCheckpoint(path).position).toMatchObject({ epoch: 1, step: 0 });
    expectBitIdentical(await resumeToEnd(backend, path), uninterrupted);
  });
});

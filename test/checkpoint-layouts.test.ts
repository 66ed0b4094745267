// Checkpoints as people save them (issue 16): PyTorch 1.13 wrote every file in test/fixtures/layouts/
// (test/fixtures-gen/make-layout-fixtures.py), and layouts.json holds what PyTorch says of each: the names, the
// sizes, the entry that holds the state_dict, logits for a few inputs, Adam's state and one more step.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fcnetMetadataOf,
  loadMLP,
  loadTrainingStart,
  readModelWeights,
  readSafetensorsFile,
  writeSafetensorsFile,
} from '../lib/checkpoint';
import { createDataset } from '../lib/data/dataset';
import { MLP } from '../lib/model';
import { fit } from '../lib/train';
import { compareArrays, expectAllClose } from './support/compare';

const folder = join(__dirname, 'fixtures', 'layouts');
const fixture = (name: string): string => join(folder, name);

interface Expectation {
  names: string[];
  sizes: number[];
  entry: string | null;
  inputs: number[];
  logits: number[];
  parameters: Record<string, number[]>;
  adam?: { step: number; lr: number; betas: [number, number]; eps: number; exp_avg: number[][]; exp_avg_sq: number[][] };
  next_step?: { pixels: number[]; labels: number[]; parameters: Record<string, number[]> };
}
const expected: Record<string, Expectation> = JSON.parse(readFileSync(fixture('layouts.json'), 'utf8'));
const backends = ['cpu', 'js'] as const;

let scratch: string;
beforeAll(() => (scratch = mkdtempSync(join(tmpdir(), 'fcnet-layouts-'))));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.each(Object.keys(expected))('%s', (name) => {
  const want = expected[name];

  test('reads the layers, their names and the entry that held them', () => {
    const weights = readModelWeights(fixture(name));
    expect(weights.sizes).toEqual(want.sizes);
    expect(Object.keys(weights.parameters)).toEqual(want.names);
    expect(weights.entry).toBe(want.entry ?? undefined);
    expect(weights.activation).toBe('relu');
    expect(weights.activationAssumed).toBe(true);
    for (const [key, values] of Object.entries(want.parameters)) expect(Array.from(weights.parameters[key].data)).toEqual(values);
  });

  test.each(backends)('computes the logits PyTorch computes (ReLU between layers) on %s', (backend) => {
    const model = loadMLP(fixture(name), { backend });
    const batch = want.inputs.length / want.sizes[0];
    const logits = model.logits(Float32Array.from(want.inputs), batch);
    expectAllClose(`${name} on ${backend}`, [compareArrays('logits', logits, want.logits)]);
  });
});

describe("Adam's state in a general checkpoint", () => {
  test.each(['general-checkpoint.pt', 'legacy-general-checkpoint.pt'])('%s: moments, step and hyper-parameters as PyTorch saved them', (name) => {
    const want = expected[name].adam!;
    const { adam, notes } = readModelWeights(fixture(name));
    expect(notes).toEqual([]);
    expect(adam?.param_groups).toEqual([{ lr: want.lr, betas: want.betas, eps: want.eps, weight_decay: 0, amsgrad: false, maximize: false, params: [0, 1, 2, 3] }]);
    for (let i = 0; i < 4; i++) {
      expect(adam?.state[i].step).toBe(want.step);
      expect(Array.from(adam!.state[i].exp_avg)).toEqual(want.exp_avg[i]);
      expect(Array.from(adam!.state[i].exp_avg_sq)).toEqual(want.exp_avg_sq[i]);
    }
  });

  test.each(backends)("training goes on from the file's weights, moments and step as PyTorch's does (one step, %s)", async (backend) => {
    const want = expected['general-checkpoint.pt'];
    const { model, optimizer, summary } = loadTrainingStart(fixture('general-checkpoint.pt'), { backend });
    expect(optimizer.step).toBe(3);
    expect(optimizer.hyper.lr).toBe(0.01);
    expect(summary).toBe("its weights and Adam's moments at step 3 (not PyTorch's exact continuation: the batches come in another order)");
    const { pixels, labels, parameters } = want.next_step!;
    const data = createDataset(Uint8Array.from(pixels), labels, [1, 5]);
    await fit(model, optimizer, data, { epochs: 1, batchSize: 8, shuffle: false });
    const state = model.stateDict();
    expect(optimizer.step).toBe(4);
    expectAllClose(`one step after the general checkpoint on ${backend}`, Object.keys(parameters).map((key) => compareArrays(key, state[key].data, parameters[key])));
  });

  test('an SGD state is ignored, with a note that says why', () => {
    const { adam, notes } = readModelWeights(fixture('general-checkpoint-sgd.pt'));
    expect(adam).toBeUndefined();
    expect(notes).toEqual([
      "the optimizer state is ignored: 'optimizer_state_dict' is not torch.optim.Adam's state (its param group has lr, momentum, dampening, weight_decay, nesterov, maximize, foreach, differentiable)",
    ]);
    const { optimizer, summary } = loadTrainingStart(fixture('general-checkpoint-sgd.pt'), { backend: 'js' });
    expect(optimizer.step).toBe(0);
    expect(summary).toBe("its weights; Adam's moments start at zero");
  });
});

describe('layer names are kept for writing back', () => {
  test("a model read from '0.weight ...' saves as '0.weight ...', with the order in fcnet's metadata", () => {
    const weights = readModelWeights(fixture('sequential-0-2.pt'));
    expect(weights.layerNames).toEqual(['0', '2']);
    const model = loadMLP(fixture('sequential-0-2.pt'), { backend: 'js' });
    expect(model.layerNames).toEqual(['0', '2']);
    const path = join(scratch, 'sequential.safetensors');
    writeSafetensorsFile(path, model.stateDict(), { format: 'pt', ...fcnetMetadataOf(model) });
    const { tensors, metadata } = readSafetensorsFile(path);
    expect(Object.keys(tensors)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(JSON.parse(metadata.fcnet)).toEqual({ format: 1, layers: ['0', '2'] });
    expect(readModelWeights(path).layerNames).toEqual(['0', '2']);
  });

  test('a model with the standard names adds nothing to the metadata', () => {
    expect(fcnetMetadataOf(new MLP({ sizes: [3, 2], backend: 'js' }))).toEqual({});
  });

  test("a file whose keys are sorted ('0', '10', '2') is read in the recorded order, or else in the names' natural order", () => {
    const t = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    const sorted = { '0.bias': t([4]), '0.weight': t([4, 5]), '10.bias': t([2]), '10.weight': t([2, 3]), '2.bias': t([3]), '2.weight': t([3, 4]) };
    const path = join(scratch, 'sorted.safetensors');
    writeSafetensorsFile(path, sorted);
    expect(readModelWeights(path)).toMatchObject({ sizes: [5, 4, 3, 2], layerNames: ['0', '2', '10'] });
    writeSafetensorsFile(path, sorted, { fcnet: JSON.stringify({ format: 1, layers: ['0', '2', '10'] }) });
    expect(readModelWeights(path).layerNames).toEqual(['0', '2', '10']);
    writeSafetensorsFile(path, sorted, { fcnet: JSON.stringify({ format: 1, layers: ['0', '2'] }) });
    expect(() => readModelWeights(path)).toThrow(new Error(`${path}: its recorded layer order ['0', '2'] does not match its layers ['0', '10', '2']`));
    writeSafetensorsFile(path, sorted, { fcnet: JSON.stringify({ format: 2 }) });
    expect(() => readModelWeights(path)).toThrow(new Error(`${path}: __metadata__ 'fcnet' has format 2, newer than this fcnet reads (1): upgrade fcnet`));
  });

  test('layerNames must name each layer once', () => {
    expect(() => new MLP({ sizes: [3, 2, 1], layerNames: ['a', 'a'] })).toThrow(
      new TypeError('Expected array of 2 distinct layer names for layerNames but received Array of length 2'),
    );
  });
});

// Finite weights whose sums overflow float32 (issue 15, kind 11): `fcnet eval` printed "Mean loss NaN" and exited 0,
// `fcnet predict` failed with a TypeError. Now evaluate, logits, eval and predict say which layer's output is not
// finite, and for which row, and the commands exit 1. The weights are made here: fc1 small, fc2 all 3e38 (each
// value finite; the sums over 8 hidden units are not), like the failing case weights-finite-but-overflowing.safetensors
// of issue 15.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { writeSafetensorsFile } from '../lib/checkpoint';
import { main } from '../lib/cli/main';
import { loadMnistTestSet } from '../lib/data/mnist';
import { MLP } from '../lib/model';
import { evaluate } from '../lib/train';
import { captureConsole } from './support/console-capture';

const SIZES = [784, 8, 10];
const BACKENDS = ['cpu', 'js'] as const;
const test10k = loadMnistTestSet();

/** fc1: 0.01 everywhere, bias 1 (every hidden unit > 1); fc2: `fc2` everywhere. fc1Weight overrides fc1's weights. */
function overflowingState(fc2 = 3e38, fc1Weight = 0.01) {
  return {
    'fc1.weight': { shape: [8, 784], data: new Float32Array(8 * 784).fill(fc1Weight) },
    'fc1.bias': { shape: [8], data: new Float32Array(8).fill(1) },
    'fc2.weight': { shape: [10, 8], data: new Float32Array(80).fill(fc2) },
    'fc2.bias': { shape: [10], data: new Float32Array(10) },
  };
}

/** The same tensors under nn.Sequential's names: fc1 -> 0, fc2 -> 2. */
function sequentialNames(state: ReturnType<typeof overflowingState>) {
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [k.replace('fc1.', '0.').replace('fc2.', '2.'), v]));
}

let folder: string;
let weightsFile: string;
let fc1File: string;
let sequentialFile: string;
let pngFile: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'fcnet-overflow-'));
  weightsFile = join(folder, 'overflowing.safetensors');
  writeSafetensorsFile(weightsFile, overflowingState());
  fc1File = join(folder, 'overflowing-fc1.safetensors');
  writeSafetensorsFile(fc1File, overflowingState(0.5, 3e38));
  sequentialFile = join(folder, 'overflowing-sequential.safetensors');
  writeSafetensorsFile(sequentialFile, sequentialNames(overflowingState()));
  const png = new PNG({ width: 28, height: 28 });
  for (let i = 0; i < 784; i++) png.data.set([test10k.images[i], test10k.images[i], test10k.images[i], 255], 4 * i);
  pngFile = join(folder, 'seven.png');
  writeFileSync(pngFile, PNG.sync.write(png));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe.each(BACKENDS)('%s', (backend) => {
  const model = (fc2?: number, fc1Weight?: number) => {
    const m = new MLP({ sizes: SIZES, backend });
    m.loadStateDict(overflowingState(fc2, fc1Weight));
    return m;
  };

  test('logits names the layer and the row', () => {
    const x = new Float32Array(3 * 784).fill(0.5);
    expect(() => model().logits(x, 3)).toThrow(new RangeError("fc2's output is not finite (Infinity at row 0); the weights overflow float32"));
    expect(() => model(0.5, 3e38).logits(x, 3)).toThrow(new RangeError("fc1's output is not finite (Infinity at row 0); the weights overflow float32"));
  });

  test('evaluate names the layer and the row of the evaluation set, never a NaN loss', () => {
    expect(() => evaluate(model(), test10k)).toThrow(new RangeError("fc2's output is not finite (Infinity at row 0 of the evaluation set); the weights overflow float32"));
  });

  test("a model read from an nn.Sequential's names ('0', '2') names its layer so, not as fc1, fc2", () => {
    const m = new MLP({ sizes: SIZES, backend, layerNames: ['0', '2'] });
    m.loadStateDict(sequentialNames(overflowingState()));
    const x = new Float32Array(784).fill(0.5);
    expect(() => m.logits(x, 1)).toThrow(new RangeError("the output of layer '2' is not finite (Infinity at row 0); the weights overflow float32"));
  });

  test('weights that are large but whose sums stay finite still evaluate', () => {
    const r = evaluate(model(1e30), test10k);
    expect(Number.isFinite(r.loss)).toBe(true);
  });
});

test.each([
  ['eval', () => [weightsFile], "fcnet eval: fc2's output is not finite (Infinity at row 0 of the evaluation set); the weights overflow float32"],
  ['eval', () => [fc1File], "fcnet eval: fc1's output is not finite (Infinity at row 0 of the evaluation set); the weights overflow float32"],
  ['eval', () => [sequentialFile], "fcnet eval: the output of layer '2' is not finite (Infinity at row 0 of the evaluation set); the weights overflow float32"],
  ['predict', () => [weightsFile, pngFile], "fcnet predict: fc2's output is not finite (Infinity at row 0); the weights overflow float32"],
  ['predict', () => [sequentialFile, pngFile], "fcnet predict: the output of layer '2' is not finite (Infinity at row 0); the weights overflow float32"],
])('fcnet %s exits 1 with the layer named', async (command, args, message) => {
  const run = await captureConsole(() => main([command, ...args(), '--backend', 'cpu']));
  expect(run.error).toBeUndefined();
  expect(run.result).toBe(1);
  expect(run.stdout).toEqual([]);
  expect(run.stderr[run.stderr.length - 1]).toBe(message);
});

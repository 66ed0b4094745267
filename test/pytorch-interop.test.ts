// Into PyTorch: weights written by fcnet's safetensors writer load into the reference program's NeuralNet
// (load_state_dict strict) and give the logits that a plain loop over the same numbers gives here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensorsFile } from '../lib/checkpoint';
import type { StateDict } from '../lib/tensor';

const PYTHON = '/usr/bin/python3';
const I = 784; // inputs
const H = 500; // hidden
const O = 10; // outputs
const N = 5; // rows of input

function torchMissingReason(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
  if (probe.error) return `${PYTHON} could not run (${probe.error.message})`;
  if (probe.status !== 0) return `${PYTHON} -c 'import torch' failed: ${probe.stderr.trim().split('\n').pop()}`;
  return undefined;
}

// Without torch the test skips and says why, except under CI (which installs python3-torch), where a skipped
// comparison with PyTorch would hide a regression: there it fails with the reason.
const whyNoTorch = torchMissingReason();
if (whyNoTorch && !process.env.CI) console.warn(`Skipping the PyTorch interop test: ${whyNoTorch}`);
const testWithTorch = !whyNoTorch ? test
  : process.env.CI ? (title: string) => test(title, () => { throw new Error(`PyTorch is needed under CI: ${whyNoTorch}`); })
  : (title: string) => test.skip(`${title} (skipped: ${whyNoTorch})`, () => undefined);

/** mulberry32: a small seeded generator, so a failure can be reproduced. */
function uniformFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** PyTorch's nn.Linear initialisation: uniform in ±1/√fan_in. */
function linearLayer(random: () => number, outputs: number, inputs: number): { weight: Float32Array; bias: Float32Array } {
  const bound = 1 / Math.sqrt(inputs);
  const draw = () => (2 * random() - 1) * bound;
  return { weight: Float32Array.from({ length: outputs * inputs }, draw), bias: Float32Array.from({ length: outputs }, draw) };
}

/** x·W1ᵀ+b1, ReLU, ·W2ᵀ+b2 in double precision: the straightforward loop. */
function referenceLogits(x: Float32Array, tensors: StateDict): number[][] {
  const w1 = tensors['fc1.weight'].data; // (H, I)
  const b1 = tensors['fc1.bias'].data; // (H)
  const w2 = tensors['fc2.weight'].data; // (O, H)
  const b2 = tensors['fc2.bias'].data; // (O)
  const logits: number[][] = [];
  for (let n = 0; n < N; n++) {
    const hidden = new Float64Array(H);
    for (let h = 0; h < H; h++) {
      let sum = b1[h];
      for (let i = 0; i < I; i++) sum += x[n * I + i] * w1[h * I + i];
      hidden[h] = Math.max(sum, 0);
    }
    const row: number[] = [];
    for (let o = 0; o < O; o++) {
      let sum = b2[o];
      for (let h = 0; h < H; h++) sum += hidden[h] * w2[o * H + h];
      row.push(sum);
    }
    logits.push(row);
  }
  return logits;
}

testWithTorch('PyTorch loads fcnet-written weights (strict) and computes the same logits', () => {
  const random = uniformFrom(20240601);
  const fc1 = linearLayer(random, H, I);
  const fc2 = linearLayer(random, O, H);
  const tensors: StateDict = {
    'fc1.weight': { shape: [H, I], data: fc1.weight },
    'fc1.bias': { shape: [H], data: fc1.bias },
    'fc2.weight': { shape: [O, H], data: fc2.weight },
    'fc2.bias': { shape: [O], data: fc2.bias },
  };
  const x = Float32Array.from({ length: N * I }, random); // pixels in [0, 1)

  const folder = mkdtempSync(join(tmpdir(), 'fcnet-interop-'));
  try {
    const weightsPath = join(folder, 'model.safetensors');
    const inputPath = join(folder, 'input.safetensors');
    writeSafetensorsFile(weightsPath, tensors, { format: 'pt', producer: 'fcnet' });
    writeSafetensorsFile(inputPath, { x: { shape: [N, I], data: x } });

    const run = spawnSync(PYTHON, [join(__dirname, 'pytorch-interop.py'), weightsPath, inputPath], { encoding: 'utf8', timeout: 60_000 });
    if (run.status !== 0) throw new Error(`pytorch-interop.py failed (${run.status ?? run.signal}):\n${run.stderr}`);
    const fromPyTorch: number[][] = JSON.parse(run.stdout).logits;

    const expected = referenceLogits(x, tensors);
    expect(fromPyTorch).toHaveLength(N);
    let largestDifference = 0;
    let largestLogit = 0;
    for (let n = 0; n < N; n++) {
      expect(fromPyTorch[n]).toHaveLength(O);
      for (let o = 0; o < O; o++) {
        largestDifference = Math.max(largestDifference, Math.abs(fromPyTorch[n][o] - expected[n][o]));
        largestLogit = Math.max(largestLogit, Math.abs(expected[n][o]));
      }
    }
    expect(largestLogit).toBeGreaterThan(0.01); // the comparison means something
    expect(largestDifference).toBeLessThan(1e-5);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}, 120_000);

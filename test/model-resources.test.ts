// A running fit is never disturbed (issue 15, kind 9), and a model's resources are its own to free (kind 12):
// evaluate, logits or any call during fit() leave its engine as it is (same seed, same bits); engines are made
// lazily and freed by dispose() / Symbol.dispose; threads above the core count are allowed, warned about once.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Adam } from '../lib/adam';
import { createDataset, type Dataset } from '../lib/data/dataset';
import { loadMnist } from '../lib/data/mnist';
import { MLP } from '../lib/model';
import { evaluate, fit } from '../lib/train';

const mnist = loadMnist();
const subset = (data: Dataset, n: number): Dataset =>
  createDataset(data.images.subarray(0, n * data.d), data.labels.subarray(0, n), [data.rows, data.cols], `${data.source}, first ${n}`);

/** Threads of this process now (Linux: /proc/self/status). */
function threadCount(): number {
  const match = /^Threads:\s+(\d+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('no Threads line in /proc/self/status');
  return Number(match[1]);
}

describe.each(['cpu', 'js'] as const)('backend %s: a running fit is never disturbed', (backend) => {
  const train = subset(mnist.train, backend === 'js' ? 300 : 1500);
  const testSet = subset(mnist.test, 250);

  async function run(disturb: boolean): Promise<{ params: Float32Array; losses: number[]; engines: Set<unknown> }> {
    const model = new MLP({ backend, seed: 5, sizes: [784, 48, 10] });
    const losses: number[] = [];
    const engines = new Set<unknown>();
    const x = Float32Array.from(testSet.images.subarray(0, 3 * 784), (v) => v / 255);
    await fit(model, new Adam(model), train, {
      epochs: 2,
      batchSize: 50, // smaller than evaluate's default batch of 100, which used to replace the engine
      seed: 3,
      onStep: ({ loss, step }) => {
        losses.push(loss);
        engines.add(model.engine());
        if (disturb && step % 7 === 0) {
          model.logits(x, 3);
          evaluate(model, testSet, 100 + step);
          void model.backend;
        }
      },
      onEpoch: () => {
        if (disturb) evaluate(model, testSet);
      },
    });
    return { params: model.buffers.params.slice(), losses, engines };
  }

  test('evaluate, logits and backend inside onStep and onEpoch: the same engine throughout and the same bits as without', async () => {
    const quiet = await run(false);
    const disturbed = await run(true);
    expect(disturbed.engines.size).toBe(1);
    expect(disturbed.losses).toEqual(quiet.losses);
    expect(disturbed.params).toEqual(quiet.params);
  });

  test('evaluate during fit gives what evaluate gives after it, at the same weights', async () => {
    const model = new MLP({ backend, seed: 6, sizes: [784, 32, 10] });
    let during: ReturnType<typeof evaluate> | undefined;
    await fit(model, new Adam(model), train, { epochs: 1, batchSize: 50, onEpoch: () => { during = evaluate(model, testSet); } });
    const after = evaluate(model, testSet);
    expect(during!.correct).toBe(after.correct);
    expect(Math.abs(during!.loss - after.loss)).toBeLessThan(1e-6);
  });
});

describe('dispose', () => {
  test('frees the engine; the parameters stay readable; computing afterwards throws; twice is harmless', () => {
    const model = new MLP({ sizes: [784, 16, 10], backend: 'cpu' });
    model.logits(new Float32Array(784), 1);
    const before = model.stateDict();
    model.dispose();
    model.dispose();
    expect(model.stateDict()).toEqual(before);
    expect(() => model.logits(new Float32Array(784), 1)).toThrow(new Error('This MLP has been disposed: make a new one (or loadMLP) to compute with it'));
  });

  test('Symbol.dispose disposes (the `using` declaration)', () => {
    const model = new MLP({ sizes: [4, 3, 2], backend: 'js' });
    model.engine(4);
    const dispose = (model as unknown as Record<symbol, () => void>)[(Symbol as unknown as { dispose?: symbol }).dispose ?? Symbol.for('nodejs.dispose')];
    expect(typeof dispose).toBe('function');
    dispose.call(model);
    expect(() => model.engine()).toThrow(/has been disposed/);
  });

  test('is refused while fit() runs on the model, which then finishes', async () => {
    const model = new MLP({ sizes: [784, 16, 10], backend: 'js' });
    let refusal: unknown;
    const result = await fit(model, new Adam(model), subset(mnist.train, 100), {
      epochs: 1, batchSize: 50, onStep: () => { try { model.dispose(); } catch (e) { refusal = e; } },
    });
    expect(refusal).toEqual(new Error('dispose: this model is training; wait for fit() to finish first'));
    expect(result.steps).toBe(2);
  });
});

describe('models made in a synchronous loop do not pile up threads', () => {
  test('making a model makes no engine (and no threads) until one is needed', () => {
    const before = threadCount();
    const models = Array.from({ length: 40 }, (_, i) => new MLP({ sizes: [784, 32, 10], seed: i, backend: 'cpu' }));
    expect(models.every((m) => m.backend === 'cpu')).toBe(true); // answered without making an engine
    expect(threadCount()).toBe(before);
  });

  /** One model computes and is disposed first, so that what starts once per process (the BLAS's pool) is there. */
  function warmUp(): void {
    const model = new MLP({ sizes: [784, 32, 10], backend: 'cpu', threads: 2 });
    model.logits(new Float32Array(784), 1);
    model.dispose();
  }

  test('an engine that computed holds threads until dispose, which ends them at once', () => {
    warmUp();
    const before = threadCount();
    const models = Array.from({ length: 5 }, (_, i) => new MLP({ sizes: [784, 32, 10], seed: i, backend: 'cpu', threads: 2 }));
    for (const model of models) model.logits(new Float32Array(784), 1);
    expect(threadCount()).toBeGreaterThanOrEqual(before + 5); // what piled up before dispose existed
    for (const model of models) model.dispose();
    expect(threadCount()).toBeLessThanOrEqual(before + 2); // slack for a helper thread V8 may start meanwhile
  });

  test('with dispose, the threads of each engine end with it', () => {
    warmUp();
    const before = threadCount();
    for (let i = 0; i < 40; i++) {
      const model = new MLP({ sizes: [784, 32, 10], seed: i, backend: 'cpu', threads: 2 });
      model.logits(new Float32Array(784), 1);
      model.dispose();
    }
    expect(threadCount()).toBeLessThanOrEqual(before + 2);
  });
});

test('threads above the core count are allowed and warned about once', () => {
  const warnings: string[] = [];
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation((w: string | Error) => { warnings.push(String(w)); });
  try {
    const cores = os.availableParallelism();
    const many = Math.min(64, cores + 1);
    if (many <= cores) return; // a machine of 64 cores or more: nothing to warn about within the limit
    expect(new MLP({ sizes: [4, 3, 2], backend: 'js', threads: many }).threads).toBe(many);
    new MLP({ sizes: [4, 3, 2], backend: 'js', threads: many });
    expect(warnings).toEqual([`fcnet: threads ${many} is more than the ${cores} cores here; training runs slower than with ${cores}`]);
  } finally {
    spy.mockRestore();
  }
});

test('a model whose buffers would not fit in memory is refused with an estimate, before allocating', () => {
  const gib = (os.totalmem() / 2 ** 30).toFixed(1);
  const count = 2 ** 20 * 2 ** 20 + 2 ** 20 + 2 * 2 ** 20 + 2; // fc1 (2²⁰, 2²⁰) + bias, fc2 (2, 2²⁰) + bias
  expect(count).toBe(1_099_514_773_506);
  expect(() => new MLP({ sizes: [1 << 20, 1 << 20, 2], backend: 'js' })).toThrow(new RangeError(
    `MLP 1048576-1048576-2 has 1,099,514,773,506 parameters: its parameters, gradients and Adam's moments would need 16384.0 GiB (16 bytes a parameter) but this machine has ${gib} GiB and one buffer holds at most 2,147,483,647 values`));
});

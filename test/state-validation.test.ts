// State loaded from outside is checked as arguments are (issue 15, kind 10): MLP.loadStateDict and
// Adam.loadStateDict check values after narrowing to float32 and check the copy they load, so memory another
// thread changes meanwhile (a SharedArrayBuffer) is never loaded unchecked; Adam's eps must be above 0.
import { Worker } from 'worker_threads';
import { Adam, type AdamStateDict } from '../lib/adam';
import { MLP } from '../lib/model';
import type { StateDict } from '../lib/tensor';

const SIZES = [4, 3, 2];
const model = () => new MLP({ sizes: SIZES, seed: 1, backend: 'js' });

function adamState(m: MLP, change: (d: AdamStateDict) => void = () => {}): AdamStateDict {
  const d: AdamStateDict = {
    state: Object.fromEntries(m.layout.map((p, i) => [i, { step: 3, exp_avg: new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(0.1),
      exp_avg_sq: new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(0.01) }])),
    param_groups: [{ lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false, maximize: false, params: [0, 1, 2, 3] }],
  };
  change(d);
  return d;
}

describe('Adam', () => {
  test('eps must be above 0', () => {
    expect(() => new Adam(model(), { eps: 0 })).toThrow(new RangeError('Expected number above 0 up to 1 for eps but received 0 of type number'));
  });

  const cases: [string, (d: AdamStateDict) => void, Error][] = [
    ['NaN first moment', (d) => (d.state[1].exp_avg[2] = NaN), new RangeError("Adam.loadStateDict: exp_avg of parameter 1 ('fc1.bias') holds NaN at index 2")],
    ['infinite second moment', (d) => (d.state[0].exp_avg_sq[5] = Infinity), new RangeError("Adam.loadStateDict: exp_avg_sq of parameter 0 ('fc1.weight') holds Infinity at index 5")],
    ['negative second moment', (d) => (d.state[3].exp_avg_sq[1] = -1e-9), new RangeError("Adam.loadStateDict: exp_avg_sq of parameter 3 ('fc2.bias') holds -9.999999717180685e-10 at index 1")],
    ['float64 moment that overflows float32', (d) => (d.state[2].exp_avg = Float64Array.from({ length: 6 }, (_, i) => (i === 4 ? -1e39 : 0))),
      new RangeError("Adam.loadStateDict: exp_avg of parameter 2 ('fc2.weight') holds -1e+39, which is -Infinity in float32, at index 4")],
    ['fractional step', (d) => { for (const k of [0, 1, 2, 3]) d.state[k].step = 2.5; },
      new RangeError('Expected integer between 0 and 9007199254740990 for state[0].step but received 2.5 of type number')],
    ['negative step', (d) => { for (const k of [0, 1, 2, 3]) d.state[k].step = -1; },
      new RangeError('Expected integer between 0 and 9007199254740990 for state[0].step but received -1 of type number')],
    ['a state key that is no parameter', (d) => { d.state[7] = d.state[3]; delete d.state[3]; },
      new RangeError("Adam.loadStateDict: state key '7' is not a parameter index from 0 to 3")],
    ['eps 0', (d) => (d.param_groups[0].eps = 0), new RangeError('Expected number above 0 up to 1 for eps but received 0 of type number')],
    ['amsgrad', (d) => ((d.param_groups[0] as { amsgrad: boolean }).amsgrad = true),
      new RangeError("Adam.loadStateDict: param group has amsgrad true, which fcnet's Adam does not do")],
    ['moments that are not arrays', (d) => ((d.state[0] as { exp_avg: unknown }).exp_avg = 'zeros'),
      new TypeError("Adam.loadStateDict: exp_avg of parameter 0 ('fc1.weight') is not an array of numbers but string")],
  ];
  test.each(cases)('loadStateDict refuses %s and changes nothing', (_, change, error) => {
    const m = model();
    const adam = new Adam(m);
    adam.loadStateDict(adamState(m));
    const before = { m: m.buffers.m.slice(), v: m.buffers.v.slice(), step: adam.step, hyper: { ...adam.hyper } };
    expect(() => adam.loadStateDict(adamState(m, change))).toThrow(error);
    expect({ m: m.buffers.m, v: m.buffers.v, step: adam.step, hyper: adam.hyper }).toEqual(before);
  });

  test('loadStateDict takes a valid state, from float64 moments too', () => {
    const m = model();
    const adam = new Adam(m);
    adam.loadStateDict(adamState(m, (d) => (d.state[0].exp_avg = new Float64Array(12).fill(0.25))));
    expect(adam.step).toBe(3);
    expect(m.view('fc1.weight', 'm')).toEqual(new Float32Array(12).fill(0.25));
    expect(m.view('fc2.bias', 'v')).toEqual(new Float32Array(2).fill(0.01));
  });
});

describe('MLP.loadStateDict', () => {
  const state = (m: MLP): StateDict => m.stateDict();

  test('checks after narrowing to float32: a float64 1e39 is refused, not loaded as Infinity', () => {
    const m = model();
    const s = state(m);
    const before = m.buffers.params.slice();
    (s['fc2.weight'] as { data: ArrayLike<number> }).data = Float64Array.from({ length: 6 }, (_, i) => (i === 3 ? 1e39 : 0.5));
    expect(() => m.loadStateDict(s)).toThrow(new RangeError("loadStateDict: 'fc2.weight' holds 1e+39, which is Infinity in float32, at index 3"));
    expect(m.buffers.params).toEqual(before);
  });

  test('refuses a tensor whose data is not an array', () => {
    const m = model();
    const s = state(m);
    (s['fc1.bias'] as { data: unknown }).data = { length: 3 };
    expect(() => m.loadStateDict(s)).toThrow(new TypeError("loadStateDict: 'fc1.bias' is not an array of numbers but object"));
  });
});

// A worker flips one value of a SharedArrayBuffer between 0.5 and NaN while the main thread loads it again and
// again: whatever a load accepts must be finite (checked then copied again, a NaN got through).
const FLIPPER = `
const { workerData, parentPort } = require('worker_threads');
const bits = new Int32Array(workerData.sab), stop = new Int32Array(workerData.stop);
const f = new Float32Array(1), i = new Int32Array(f.buffer);
f[0] = 0.5; const good = i[0]; f[0] = NaN; const bad = i[0];
parentPort.postMessage('flipping');
while (Atomics.load(stop, 0) === 0) {
  Atomics.store(bits, workerData.index, bad);
  for (let k = Math.floor(Math.random() * 64); k > 0; k--) Atomics.load(stop, 0);
  Atomics.store(bits, workerData.index, good);
  for (let k = Math.floor(Math.random() * 64); k > 0; k--) Atomics.load(stop, 0);
}`;

async function race(length: number, load: (data: Float32Array) => void, loaded: () => Float32Array): Promise<{ accepted: number; refused: number }> {
  const data = new Float32Array(new SharedArrayBuffer(4 * length)).fill(0.5);
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(FLIPPER, { eval: true, workerData: { sab: data.buffer, stop: stop.buffer, index: 0 } });
  await new Promise((resolve) => worker.once('message', resolve));
  let accepted = 0, refused = 0;
  try {
    const end = Date.now() + 3000; // bounds the work on a slow machine; not a measurement
    while (accepted < 200 && Date.now() < end) {
      try {
        load(data);
        accepted++;
        const bad = loaded().findIndex((x) => !Number.isFinite(x));
        if (bad >= 0) throw new Error(`a load was accepted but left ${loaded()[bad]} at index ${bad}`);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        refused++;
      }
    }
  } finally {
    Atomics.store(stop, 0, 1);
    await worker.terminate();
  }
  return { accepted, refused };
}

test('values in a SharedArrayBuffer changed during MLP.loadStateDict and Adam.loadStateDict: never loaded unchecked', async () => {
  const m = new MLP({ sizes: [784, 64, 10], seed: 1, backend: 'js' });
  const s = m.stateDict();
  const weights = await race(784 * 64, (data) => m.loadStateDict({ ...s, 'fc1.weight': { shape: [64, 784], data } }), () => m.buffers.params);
  const adam = new Adam(m);
  const d = adamState(m);
  const moments = await race(784 * 64, (data) => adam.loadStateDict({ ...d, state: { ...d.state, 0: { step: 3, exp_avg: data, exp_avg_sq: d.state[0].exp_avg_sq } } }), () => m.buffers.m);
  console.log(`shared-memory loads: weights ${JSON.stringify(weights)}, moments ${JSON.stringify(moments)}`);
  for (const r of [weights, moments]) expect({ accepted: r.accepted > 0, refused: r.refused > 0 }).toEqual({ accepted: true, refused: true });
}, 30_000);

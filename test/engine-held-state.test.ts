// What an engine holds inside (the cpu engine's sparse path keeps fc1.weight and its optimizer state transposed
// between steps; a device engine keeps everything) and the host buffers must agree at every hand-over: fit's start
// keeps steps taken before it, and loading a state_dict through an engine that downloads on every sync keeps
// every tensor.
import { MLP } from '../lib/model';
import { Adam } from '../lib/adam';
import { fit } from '../lib/train';
import { createFeatureDataset } from '../lib/data/dataset';
import type { Engine } from '../lib/backends/types';

function sparseData(N: number, I: number, C: number) {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  const x = new Uint8Array(N * I);
  for (let i = 0; i < x.length; i++) if (rnd() < 0.1) x[i] = 1 + Math.floor(rnd() * 254);
  const y = Int32Array.from({ length: N }, () => Math.floor(rnd() * C));
  return { x, y };
}

test('steps taken with engine.trainBatch survive the start of fit (cpu, sparse path)', async () => {
  const I = 200, N = 40, B = 20;
  const { x, y } = sparseData(N, I, 5);
  const run = async (thenFit: boolean) => {
    const model = new MLP({ sizes: [I, 70, 5], backend: 'cpu', seed: 1 });
    const adam = new Adam(model, { lr: 0.01 });
    const engine = model.engine(B);
    const h = engine.attachDataset(x, y, N, I);
    const rows = Int32Array.from({ length: N }, (_, i) => i);
    for (let s = 1; s <= 3; s++) { engine.trainBatch(h, rows, 0, B, adam.hyper, s, true); adam.step++; }
    if (thenFit) await fit(model, adam, createFeatureDataset(x, y, I), { epochs: 0, batchSize: B });
    model.syncToHost();
    return { w: model.view('fc1.weight').slice(), b: model.view('fc1.bias').slice(), m: model.view('fc1.weight', 'm').slice() };
  };
  const a = await run(false), b = await run(true);
  const diff = (p: Float32Array, q: Float32Array) => p.findIndex((v, i) => v !== q[i]);
  expect([diff(a.w, b.w), diff(a.b, b.b), diff(a.m, b.m)]).toEqual([-1, -1, -1]);
});

test('loadStateDict through an engine whose download copies everything keeps every tensor', () => {
  const model = new MLP({ sizes: [6, 4, 3], backend: 'js', seed: 1 });
  const inner = model.engine();
  const device = { params: model.buffers.params.slice(), grads: model.buffers.grads.slice(), m: model.buffers.m.slice(), v: model.buffers.v.slice() };
  const fake: Engine = Object.create(inner);
  (fake as any).download = () => { for (const k of ['params', 'grads', 'm', 'v'] as const) model.buffers[k].set(device[k]); };
  (fake as any).upload = () => { for (const k of ['params', 'grads', 'm', 'v'] as const) device[k].set(model.buffers[k]); };
  (model as any).engineInstance = fake;
  const sd = model.stateDict();
  for (const k of Object.keys(sd)) sd[k].data.fill(0.5);
  model.loadStateDict(sd);
  const after = model.stateDict();
  const loaded = Object.fromEntries(Object.keys(after).map((k) => [k, after[k].data.every((v) => v === 0.5)]));
  expect(Object.values(loaded).every(Boolean)).toBe(true);
});

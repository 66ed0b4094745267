// A run's state beyond weights, optimizer and position, in a training checkpoint: __metadata__ 'fcnet.run_state'
// = {"scheduler":{"epoch":3,"lr":0.05,"best":null,"bad_epochs":0,"cooldown_left":0}|null,
//    "early_stopping":{"best":0.21,"best_epoch":2,"wait":1}|null, "best_weights":true|false}
// and, with best_weights, the best epoch's parameters as tensors fcnet.best_weights.<parameter>.
import { parameterLayout, type MLP } from '../model';
import type { RunState } from '../schedules';
import type { StateDict } from '../tensor';
import type { ExpectedShapes } from './expected-shapes';

export const RUN_STATE_KEY = 'fcnet.run_state';
const PREFIX = 'fcnet.best_weights.';

export function runStateParts(model: MLP, state: RunState): { metadata: Record<string, string>; tensors: StateDict } {
  const s = state.scheduler, e = state.earlyStopping;
  const entry = {
    scheduler: s && { epoch: s.epoch, lr: s.lr, best: s.best, bad_epochs: s.badEpochs, cooldown_left: s.cooldownLeft },
    early_stopping: e && { best: e.best, best_epoch: e.bestEpoch, wait: e.wait },
    best_weights: state.bestWeights !== null,
  };
  const tensors: StateDict = {};
  if (state.bestWeights) {
    const standard = parameterLayout(model.sizes); // fc1, fc2, ... whatever the model's layer names
    model.layout.forEach((p, i) => (tensors[`${PREFIX}${standard[i].name}`] = { shape: [...p.shape], data: state.bestWeights!.slice(p.offset, p.offset + p.shape.reduce((a, b) => a * b, 1)) }));
  }
  return { metadata: { [RUN_STATE_KEY]: JSON.stringify(entry) }, tensors };
}

type Fail = (problem: string) => Error;

/** The entry's fields checked, and the tensors it promises. */
export function readRunStateEntry(value: unknown, sizes: readonly number[], fail: Fail): { expected: ExpectedShapes; build: (tensors: StateDict) => RunState } {
  const bad = (field: string, v: unknown): Error => fail(`__metadata__ '${RUN_STATE_KEY}' field '${field}' is ${JSON.stringify(v)}`);
  const object = (v: unknown, field: string, fields: string[]): Record<string, unknown> | null => {
    if (v === null) return null;
    if (typeof v !== 'object' || Array.isArray(v)) throw bad(field, v);
    const o = v as Record<string, unknown>;
    const wrong = Object.keys(o).find((k) => !fields.includes(k)) ?? fields.find((k) => !Object.hasOwn(o, k));
    if (wrong !== undefined) throw bad(`${field}.${wrong}`, o[wrong]);
    return o;
  };
  const integer = (v: unknown, field: string): number => {
    if (!Number.isInteger(v) || (v as number) < -1) throw bad(field, v);
    return v as number;
  };
  const finite = (v: unknown, field: string, nullable: boolean): number | null => {
    if (v === null && nullable) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(field, v);
    return v;
  };
  const entry = object(value, 'entry', ['scheduler', 'early_stopping', 'best_weights'])!;
  if (entry === null) throw fail(`__metadata__ '${RUN_STATE_KEY}' must be a JSON object`);
  const s = object(entry.scheduler, 'scheduler', ['epoch', 'lr', 'best', 'bad_epochs', 'cooldown_left']);
  const e = object(entry.early_stopping, 'early_stopping', ['best', 'best_epoch', 'wait']);
  if (typeof entry.best_weights !== 'boolean') throw bad('best_weights', entry.best_weights);
  const scheduler = s && { epoch: integer(s.epoch, 'scheduler.epoch'), lr: finite(s.lr, 'scheduler.lr', false)!, best: finite(s.best, 'scheduler.best', true), badEpochs: integer(s.bad_epochs, 'scheduler.bad_epochs'), cooldownLeft: integer(s.cooldown_left, 'scheduler.cooldown_left') };
  const earlyStopping = e && { best: finite(e.best, 'early_stopping.best', true), bestEpoch: integer(e.best_epoch, 'early_stopping.best_epoch'), wait: integer(e.wait, 'early_stopping.wait') };
  const layout = parameterLayout(sizes);
  const expected: ExpectedShapes = {};
  if (entry.best_weights) for (const p of layout) expected[`${PREFIX}${p.name}`] = p.shape;
  return {
    expected,
    build: (tensors) => {
      let bestWeights: Float32Array | null = null;
      if (entry.best_weights) {
        const last = layout[layout.length - 1];
        bestWeights = new Float32Array(last.offset + last.shape.reduce((a, b) => a * b, 1));
        for (const p of layout) bestWeights.set(tensors[`${PREFIX}${p.name}`].data, p.offset);
      }
      return { scheduler, earlyStopping, bestWeights };
    },
  };
}

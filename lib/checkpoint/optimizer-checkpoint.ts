// SGD's and AdamW's state in a training checkpoint (Adam keeps its own 'fcnet.adam' entry and adam.* tensors):
// __metadata__ 'fcnet.optimizer' = {"kind":"sgd","step":12,"lr":0.1,"initial_lr":0.1,"momentum":0.9,...} and the
// buffers as tensors named as torch.optim's state: sgd.momentum_buffer.<parameter>, adamw.exp_avg.<parameter>,
// adamw.exp_avg_sq.<parameter>. A resumed run restores them and continues bit for bit.
import type { MLP } from '../model';
import { parameterLayout } from '../model';
import { AdamW, SGD } from '../optimizers';
import type { StateDict } from '../tensor';
import type { ExpectedShapes } from './expected-shapes';

export const OPTIMIZER_KEY = 'fcnet.optimizer';

/** What a checkpoint records of SGD or AdamW: enough to make the same optimizer at the same step. */
export type OptimizerCheckpoint =
  | { kind: 'sgd'; step: number; lr: number; initialLr: number; momentum: number; dampening: number; nesterov: boolean; weightDecay: number; buffers: StateDict }
  | { kind: 'adamw'; step: number; lr: number; initialLr: number; betas: [number, number]; eps: number; weightDecay: number; buffers: StateDict };

/** The buffers each kind keeps, as (tensor prefix, model buffer). SGD without momentum keeps none. */
function bufferNames(kind: 'sgd' | 'adamw', momentum: number): [string, 'm' | 'v'][] {
  if (kind === 'adamw') return [['adamw.exp_avg', 'm'], ['adamw.exp_avg_sq', 'v']];
  return momentum !== 0 ? [['sgd.momentum_buffer', 'm']] : [];
}

/** The metadata entry and tensors that record `optimizer`. */
export function optimizerCheckpointParts(optimizer: SGD | AdamW): { metadata: Record<string, string>; tensors: StateDict } {
  const model = optimizer.model;
  model.syncToHost();
  const h = optimizer.hyper;
  const entry = optimizer instanceof SGD
    ? { kind: 'sgd', step: optimizer.step, lr: h.lr, initial_lr: optimizer.initialLr, momentum: optimizer.hyper.momentum, dampening: optimizer.hyper.dampening, nesterov: optimizer.hyper.nesterov, weight_decay: h.weightDecay }
    : { kind: 'adamw', step: optimizer.step, lr: h.lr, initial_lr: optimizer.initialLr, betas: [optimizer.hyper.beta1, optimizer.hyper.beta2], eps: optimizer.hyper.eps, weight_decay: h.weightDecay };
  const tensors: StateDict = {};
  const momentum = optimizer instanceof SGD ? optimizer.hyper.momentum : 0;
  const standard = parameterLayout(model.sizes); // the checkpoint's names are fc1, fc2, ... whatever the model's
  for (const [prefix, buffer] of bufferNames(optimizer.kind, momentum)) {
    model.layout.forEach((p, i) => (tensors[`${prefix}.${standard[i].name}`] = { shape: [...p.shape], data: model.view(p.name, buffer).slice() }));
  }
  return { metadata: { [OPTIMIZER_KEY]: JSON.stringify(entry) }, tensors };
}

type Fail = (problem: string) => Error;
/** Omit over each member of a union (the plain Omit would merge them). */
type EntryOf<T> = T extends unknown ? Omit<T, 'buffers'> : never;

/** Reads the 'fcnet.optimizer' entry (already JSON-parsed), every field checked; the tensors it expects. */
export function readOptimizerEntry(value: unknown, sizes: readonly number[], fail: Fail): { entry: EntryOf<OptimizerCheckpoint>; expected: ExpectedShapes; prefixes: [string, 'm' | 'v'][] } {
  const bad = (field: string, expected: string, v: unknown): Error => fail(`__metadata__ '${OPTIMIZER_KEY}' field '${field}' must be ${expected} but is ${JSON.stringify(v)}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`__metadata__ '${OPTIMIZER_KEY}' must be a JSON object`);
  const e = value as Record<string, unknown>;
  const kind = e.kind;
  if (kind !== 'sgd' && kind !== 'adamw') throw bad('kind', "'sgd' or 'adamw'", kind);
  const fields = kind === 'sgd' ? ['kind', 'step', 'lr', 'initial_lr', 'momentum', 'dampening', 'nesterov', 'weight_decay'] : ['kind', 'step', 'lr', 'initial_lr', 'betas', 'eps', 'weight_decay'];
  const unknown = Object.keys(e).find((f) => !fields.includes(f));
  if (unknown !== undefined) throw fail(`__metadata__ '${OPTIMIZER_KEY}' has an unknown field '${unknown}' (expected ${fields.join(', ')})`);
  const number = (field: string, min: number, max: number, exclusive = false): number => {
    const v = e[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || (exclusive ? v <= min : v < min) || v > max) throw bad(field, `a number ${exclusive ? 'above' : 'from'} ${min} to ${max}`, v);
    return v;
  };
  const step = e.step;
  if (!Number.isInteger(step) || (step as number) < 0) throw bad('step', 'an integer from 0', step);
  const common = { step: step as number, lr: number('lr', 0, 1e3, true), initialLr: number('initial_lr', 0, 1e3, true), weightDecay: number('weight_decay', 0, 1e3) };
  let entry: EntryOf<OptimizerCheckpoint>;
  if (kind === 'sgd') {
    if (typeof e.nesterov !== 'boolean') throw bad('nesterov', 'true or false', e.nesterov);
    entry = { kind, ...common, momentum: number('momentum', 0, 1), dampening: number('dampening', 0, 1), nesterov: e.nesterov };
  } else {
    const betas = e.betas;
    if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === 'number' && b >= 0 && b <= 0.999999999)) throw bad('betas', '[beta1, beta2] from 0 to 0.999999999', betas);
    entry = { kind, ...common, betas: betas as [number, number], eps: number('eps', 0, 1) };
  }
  const prefixes = bufferNames(kind, entry.kind === 'sgd' ? entry.momentum : 0);
  const expected: ExpectedShapes = {};
  for (const [prefix] of prefixes) for (const p of parameterLayout(sizes)) expected[`${prefix}.${p.name}`] = p.shape;
  return { entry, expected, prefixes };
}

/** The optimizer a checkpoint records, for `model` (whose parameters are loaded), its buffers in model.buffers. */
export function restoreOptimizer(model: MLP, saved: OptimizerCheckpoint): SGD | AdamW {
  const optimizer = saved.kind === 'sgd'
    ? new SGD(model, { lr: saved.initialLr, momentum: saved.momentum, dampening: saved.dampening, nesterov: saved.nesterov, weightDecay: saved.weightDecay })
    : new AdamW(model, { lr: saved.initialLr, betas: saved.betas, eps: saved.eps, weightDecay: saved.weightDecay });
  optimizer.hyper.lr = saved.lr; // a schedule may have moved it from initial_lr
  optimizer.step = saved.step;
  model.syncToHost();
  model.buffers.m.fill(0);
  model.buffers.v.fill(0);
  const momentum = saved.kind === 'sgd' ? saved.momentum : 0;
  const standard = parameterLayout(model.sizes);
  for (const [prefix, buffer] of bufferNames(saved.kind, momentum)) {
    model.layout.forEach((p, i) => model.view(p.name, buffer).set(saved.buffers[`${prefix}.${standard[i].name}`].data));
  }
  model.engine().upload();
  return optimizer;
}

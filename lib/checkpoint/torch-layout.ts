// Where the weights are in what people torch.save: a bare state_dict, or a dict that holds one beside other
// things (PyTorch's recipe "Saving and loading a general checkpoint": epoch, model_state_dict,
// optimizer_state_dict, loss; PyTorch Lightning's state_dict; many repositories' model or net). Also Adam's
// state when the dict holds an optimizer's state_dict, checked against torch.optim.Adam's layout.

import type { StateDict } from '../tensor';
import { clipText, formatItems, quote } from '../io/bounded-text';
import { isPickleTuple } from './pickle';
import { describeValue, stateDictFromPickle, TorchTensorView } from './torch-pickle';

/** Keys that hold a state_dict, most specific first. */
export const STATE_DICT_KEYS = ['model_state_dict', 'state_dict', 'model', 'net', 'network', 'model_state', 'weights', 'params'];
/** Keys that hold an optimizer's state_dict. */
const OPTIMIZER_KEYS = ['optimizer_state_dict', 'optimizer', 'optim', 'optimizer_state'];

/** torch.optim.Adam's state as the file holds it, per parameter index (the order of model.parameters()). */
export interface TorchAdamState {
  /** The optimizer's key in the checkpoint dict. */
  entry: string;
  step: number;
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** exp_avg and exp_avg_sq of parameter i, as the file shapes them. */
  moments: { expAvg: StateDict[string]; expAvgSq: StateDict[string] }[];
}

export interface TorchContents {
  /** The tensors of the state_dict, in the file's order. */
  stateDict: StateDict;
  /** The key of the checkpoint dict that held the state_dict; undefined when the file is the state_dict. */
  entry?: string;
  /** Adam's state, when the file holds one that fcnet can continue from. */
  adam?: TorchAdamState;
  /** What was found and left aside (an optimizer fcnet cannot continue, ...), one sentence each. */
  notes: string[];
}

const isTensorDict = (value: unknown): value is Map<string, TorchTensorView> =>
  value instanceof Map && value.size > 0 && [...value].every(([key, tensor]) => typeof key === 'string' && tensor instanceof TorchTensorView);

const hasTensor = (value: Map<unknown, unknown>): boolean => [...value.values()].some((v) => v instanceof TorchTensorView);

/** The state_dict and its key in an unpickled checkpoint; throws what the file holds instead. */
function findStateDict(root: unknown, fail: (problem: string) => Error): { dict: Map<unknown, unknown>; entry?: string } {
  if (!(root instanceof Map)) {
    const what = root instanceof TorchTensorView
      ? 'a single tensor (torch.save(tensor))'
      : describeValue(root);
    throw fail(`the file holds ${what}, not a state_dict (a dict of tensors): save one with torch.save(model.state_dict(), path)`);
  }
  if (root.has('state') && root.has('param_groups') && !hasTensor(root)) {
    throw fail("the file holds an optimizer's state_dict (state, param_groups), not the model's: save the weights with torch.save(model.state_dict(), path)");
  }
  for (const key of STATE_DICT_KEYS) {
    if (isTensorDict(root.get(key))) return { dict: root.get(key) as Map<unknown, unknown>, entry: key };
  }
  const candidates = [...root].filter(([, value]) => isTensorDict(value)).map(([key]) => key);
  if (candidates.length === 1) return { dict: root.get(candidates[0]) as Map<unknown, unknown>, entry: String(candidates[0]) };
  // A dict with tensors at its top and no dict of them inside is the state_dict itself; stateDictFromPickle names
  // any entry that is not a tensor.
  if ((candidates.length === 0 && hasTensor(root)) || root.size === 0) return { dict: root };
  const keys = formatItems([...root.keys()], (key) => quote(String(key)));
  if (candidates.length > 1) {
    throw fail(`the dict holds ${candidates.length} state_dicts (${formatItems(candidates, (key) => quote(String(key)))}) and none under a conventional key (${STATE_DICT_KEYS.join(', ')}): save the one you mean on its own, e.g. torch.save(checkpoint[${quote(String(candidates[0]))}], path)`);
  }
  throw fail(`the dict (keys ${keys}) holds no state_dict: neither under a conventional key (${STATE_DICT_KEYS.join(', ')}) nor as its only dict of tensors; save one with torch.save(model.state_dict(), path)`);
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Adam's state from an optimizer's state_dict, or the reason it cannot be continued from. */
function adamState(entry: string, optimizer: unknown, source: string): TorchAdamState | string {
  if (!(optimizer instanceof Map) || !(optimizer.get('state') instanceof Map) || !Array.isArray(optimizer.get('param_groups'))) {
    return `${quote(entry)} is not an optimizer's state_dict (state, param_groups)`;
  }
  const groups = optimizer.get('param_groups') as unknown[];
  if (groups.length !== 1 || !(groups[0] instanceof Map)) return `${quote(entry)} has ${groups.length} param groups; fcnet continues from one`;
  const group = groups[0] as Map<unknown, unknown>;
  const betas = group.get('betas');
  // Adam's and AdamW's groups have betas and amsgrad; Adamax, NAdam and RAdam lack amsgrad or add momentum_decay.
  if (!isPickleTuple(betas) || !group.has('amsgrad') || group.has('momentum_decay') || group.has('momentum')) {
    return `${quote(entry)} is not torch.optim.Adam's state (its param group has ${formatItems([...group.keys()].filter((k) => k !== 'params'), (k) => clipText(String(k)))})`;
  }
  if (group.get('amsgrad') !== false) return `${quote(entry)} is Adam with amsgrad, which fcnet does not run`;
  if (group.get('maximize') === true) return `${quote(entry)} is Adam with maximize=True, which fcnet does not run`;
  const [lr, eps, weightDecay] = ['lr', 'eps', 'weight_decay'].map((key) => group.get(key));
  if (!isNumber(lr) || !isNumber(eps) || !isNumber(weightDecay) || betas.length !== 2 || !betas.every(isNumber)) {
    return `${quote(entry)} has a param group whose lr, betas, eps or weight_decay is not a number`;
  }
  // AdamW saves the same keys as Adam: only without weight decay are the two the same update.
  if (weightDecay !== 0) return `${quote(entry)} has weight_decay ${weightDecay}, and its state_dict does not say whether it is Adam's (L2) or AdamW's (decoupled)`;
  const params = group.get('params');
  if (!Array.isArray(params) || !params.every((p, i) => p === i)) return `${quote(entry)} lists its parameters in an order fcnet does not follow`;
  const state = optimizer.get('state') as Map<unknown, unknown>;
  if (state.size === 0) return `${quote(entry)} has taken no step yet`;
  // Gather the moments through the state_dict reader, with its bounds checks.
  const views = new Map<string, unknown>();
  const steps = new Set<number>();
  for (let i = 0; i < params.length; i++) {
    const s = state.get(i);
    if (!(s instanceof Map)) return `${quote(entry)} has no state for parameter ${i}`;
    const step = s.get('step');
    if (step instanceof TorchTensorView) views.set(`step.${i}`, step);
    else if (isNumber(step)) steps.add(step);
    else return `${quote(entry)} has a step for parameter ${i} that is ${describeValue(step)}`;
    views.set(`exp_avg.${i}`, s.get('exp_avg'));
    views.set(`exp_avg_sq.${i}`, s.get('exp_avg_sq'));
  }
  let tensors: StateDict;
  try {
    tensors = stateDictFromPickle(views, `${source} ${quote(entry)}`);
  } catch (error) {
    return (error as Error).message;
  }
  for (let i = 0; i < params.length; i++) if (tensors[`step.${i}`]) steps.add(tensors[`step.${i}`].data[0]);
  const [step] = steps;
  if (steps.size !== 1 || !Number.isSafeInteger(step) || step < 1) return `${quote(entry)} has parameters at steps ${formatItems([...steps])}`;
  const moments = params.map((_, i) => ({ expAvg: tensors[`exp_avg.${i}`], expAvgSq: tensors[`exp_avg_sq.${i}`] }));
  return { entry, step, lr, betas: [betas[0] as number, betas[1] as number], eps, weightDecay, moments };
}

/** The state_dict (and Adam's state, when there) in an unpickled torch.save file. */
export function torchContentsFromPickle(root: unknown, source: string): TorchContents {
  const fail = (problem: string): Error => new Error(`${source}: ${problem}`);
  const { dict, entry } = findStateDict(root, fail);
  const stateDict = stateDictFromPickle(dict, source);
  const notes: string[] = [];
  let adam: TorchAdamState | undefined;
  if (entry !== undefined && root instanceof Map) {
    const optimizerKey = OPTIMIZER_KEYS.find((key) => root.has(key));
    if (optimizerKey !== undefined) {
      const found = adamState(optimizerKey, root.get(optimizerKey), source);
      if (typeof found === 'string') notes.push(`the optimizer state is ignored: ${found}`);
      else adam = found;
    }
  }
  return { stateDict, entry, adam, notes };
}

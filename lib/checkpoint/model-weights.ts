// A network's weights from any file fcnet reads: its own safetensors, a training checkpoint (the
// parameters; Adam's state is left out) or PyTorch's torch.save files (zip archive or legacy format; a bare
// state_dict or a checkpoint dict holding one). The layers are the file's chain of Linear layers, whatever their
// names (linear-chain.ts); their sizes come from the weights' shapes, (outputs, inputs) as nn.Linear stores them.

import type { AdamStateDict } from '../adam';
import type { BackendChoice } from '../backends';
import { checkKnownOptions, checkOneOf, invalidArgument } from '../check';
import { formatItems, quote } from '../io/bounded-text';
import { readCheckpointFile } from './read-checkpoint-file';
import { MLP, parameterLayout } from '../model';
import type { StateDict } from '../tensor';
import { readFcnetMetadata } from './fcnet-metadata';
import { linearChain } from './linear-chain';
import { decodeSafetensors } from './safetensors';
import { isLegacyTorchFile } from './torch-legacy';
import type { TorchAdamState } from './torch-layout';
import { readTorchContents } from './torch-zip';
import { isTrainingCheckpoint, trainingCheckpointFrom } from './training-checkpoint';

export type WeightsFormat = 'safetensors' | 'training checkpoint' | 'PyTorch checkpoint';

/** The activations fcnet runs between layers. */
export const ACTIVATIONS = ['relu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface ModelWeights {
  /** Layer widths, input first, read off the weights' shapes. */
  sizes: number[];
  /** Each layer's name as the file has it: its tensors are `<name>.weight`, `<name>.bias` (fc1, 0, linear_relu_stack.0, ...). */
  layerNames: string[];
  /** The weights and biases, named as in the file, in the order the layers run. */
  parameters: StateDict;
  format: WeightsFormat;
  /** The key of a PyTorch checkpoint dict that held the state_dict ('model_state_dict', ...); absent for a bare state_dict. */
  entry?: string;
  /**
   * The activation between layers. A state_dict does not record it: it is the `activation` option, ReLU by
   * default, and `activationAssumed` says so.
   */
  activation: Activation;
  activationAssumed: boolean;
  /** Adam's state when a PyTorch checkpoint holds torch.optim.Adam's, matched to the layers (Adam.loadStateDict's shape). */
  adam?: AdamStateDict;
  /** Things found and said about the file (an ignored optimizer, DataParallel's prefix), one sentence each. */
  notes: string[];
}

export interface ReadModelWeightsOptions {
  /** The activation between layers, which no state_dict records. Default 'relu'. */
  activation?: Activation;
}

/**
 * Which reader a file needs, from its first bytes: torch.save has written zip archives ('PK\x03\x04') since
 * PyTorch 1.6, and before (or with _use_new_zipfile_serialization=False) a row of pickles that starts with a magic
 * number; safetensors starts with an 8-byte header length and then the JSON header's '{'.
 */
function readerFor(bytes: Uint8Array): 'torch' | 'safetensors' | null {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'torch';
  if (bytes.length >= 9 && bytes[8] === 0x7b) return 'safetensors';
  if (isLegacyTorchFile(bytes) || (bytes.length > 0 && bytes[0] === 0x80)) return 'torch';
  return null;
}

/**
 * The widths of the MLP whose state_dict `tensors` is: a chain of Linear layers, each with a 2-D weight
 * (outputs, inputs) and a bias (outputs), each taking the one before's outputs, and no other tensor.
 */
export function layerSizesOf(tensors: StateDict, source: string): number[] {
  return linearChain(tensors, source).sizes;
}

function checkFinite(parameters: StateDict, source: string): void {
  for (const [name, { data }] of Object.entries(parameters)) {
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new Error(`${source}: tensor ${quote(name)} holds ${data[bad]} at index ${bad}`);
  }
}

/**
 * torch.optim.Adam's moments, which follow model.parameters() (the state_dict's order for Linear layers), put in
 * the order of `layout`; a note instead when they do not fit the layers.
 */
function matchAdam(found: TorchAdamState, fileOrder: string[], layoutNames: string[], tensors: StateDict): AdamStateDict | string {
  if (found.moments.length !== fileOrder.length) {
    return `the optimizer state is ignored: ${quote(found.entry)} has state for ${found.moments.length} parameters but the state_dict holds ${fileOrder.length}`;
  }
  const state: AdamStateDict['state'] = {};
  for (const [i, name] of layoutNames.entries()) {
    const { expAvg, expAvgSq } = found.moments[fileOrder.indexOf(name)];
    const shape = tensors[name].shape.join(',');
    if (expAvg.shape.join(',') !== shape || expAvgSq.shape.join(',') !== shape) {
      return `the optimizer state is ignored: the moments of ${quote(name)} have shape [${formatItems(expAvg.shape, String, 8, ',')}] but the parameter [${formatItems(tensors[name].shape, String, 8, ',')}]`;
    }
    state[i] = { step: found.step, exp_avg: expAvg.data, exp_avg_sq: expAvgSq.data };
  }
  return {
    state,
    param_groups: [{ lr: found.lr, betas: found.betas, eps: found.eps, weight_decay: found.weightDecay, amsgrad: false, maximize: false, params: layoutNames.map((_, i) => i) }],
  };
}

const knownReadOptions = ['activation'] as const;

/** Reads a network's weights from a safetensors file, a training checkpoint or a PyTorch checkpoint. */
export function readModelWeights(path: string, options: ReadModelWeightsOptions = {}): ModelWeights {
  if (typeof path !== 'string') throw invalidArgument('string', 'path', path);
  checkKnownOptions('readModelWeights', options, knownReadOptions);
  const activation = checkOneOf('activation', options.activation ?? 'relu', ACTIVATIONS);
  const bytes = readCheckpointFile(path);
  let format: WeightsFormat;
  let tensors: StateDict;
  let order: string[] | undefined;
  let entry: string | undefined;
  let foundAdam: TorchAdamState | undefined;
  const notes: string[] = [];
  const reader = readerFor(bytes);
  if (reader === null) {
    const picture = bytes[0] === 0x89 && bytes[1] === 0x50 ? 'PNG' : bytes[0] === 0xff && bytes[1] === 0xd8 ? 'JPEG' : undefined;
    if (picture) throw new Error(`${path}: is a ${picture} picture, not a network's weights; were MODEL and IMAGE swapped? (fcnet predict MODEL IMAGE)`);
    throw new Error(`${path}: neither a safetensors file nor a PyTorch checkpoint (torch.save's zip archive or legacy file)`);
  }
  if (reader === 'torch') {
    format = 'PyTorch checkpoint';
    const contents = readTorchContents(bytes, { source: path });
    ({ stateDict: tensors, entry, adam: foundAdam } = contents);
    notes.push(...contents.notes);
  } else {
    const contents = decodeSafetensors(bytes, { source: path });
    if (isTrainingCheckpoint(contents.metadata)) {
      format = 'training checkpoint';
      tensors = trainingCheckpointFrom(contents, path).parameters;
    } else {
      format = 'safetensors';
      tensors = contents.tensors;
      order = readFcnetMetadata(contents.metadata, path).layers;
    }
  }
  const { sizes, layerNames } = linearChain(tensors, path, order);
  const parameters: StateDict = {};
  for (const { name } of parameterLayout(sizes, layerNames)) parameters[name] = tensors[name];
  checkFinite(parameters, path);
  // Wrappers that prefix every name: nn.DataParallel / DistributedDataParallel ('module.'), torch.compile ('_orig_mod.').
  for (const [prefix, wrapper] of [['module.', 'nn.DataParallel (or DistributedDataParallel)'], ['_orig_mod.', 'torch.compile']]) {
    if (layerNames.every((name) => name.startsWith(prefix))) {
      notes.push(`the names carry the '${prefix}' prefix of ${wrapper}, kept when saving; load them into the bare model with {k.removeprefix('${prefix}'): v for k, v in state_dict.items()}`);
    }
  }
  let adam: AdamStateDict | undefined;
  if (foundAdam) {
    const matched = matchAdam(foundAdam, Object.keys(tensors), Object.keys(parameters), tensors);
    if (typeof matched === 'string') notes.push(matched);
    else adam = matched;
  }
  return { sizes, layerNames, parameters, format, entry, activation, activationAssumed: options.activation === undefined, adam, notes };
}

export interface LoadMLPOptions extends ReadModelWeightsOptions {
  /** Where the math runs. Default 'auto'. */
  backend?: BackendChoice;
  /** CPU threads for the native backend. */
  threads?: number;
}

/**
 * An MLP with the sizes, layer names and weights in `path` (any file readModelWeights reads), ready for logits /
 * evaluate. The activation between layers is `options.activation`, ReLU by default: no state_dict records it.
 */
export function loadMLP(path: string, options: LoadMLPOptions = {}): MLP {
  checkKnownOptions('loadMLP', options, ['backend', 'threads', 'activation']);
  const { activation, ...mlpOptions } = options;
  const { sizes, layerNames, parameters } = readModelWeights(path, activation === undefined ? {} : { activation });
  const model = new MLP({ ...mlpOptions, sizes, layerNames });
  model.loadStateDict(parameters);
  return model;
}

/** One line that says where a network came from: its format, the entry that held it, the activation. */
export function describeWeights(weights: ModelWeights): string {
  const where = weights.entry === undefined ? weights.format : `${weights.format}, its entry ${quote(weights.entry)}`;
  const standard = weights.layerNames.every((name, l) => name === `fc${l + 1}`);
  const layers = standard ? '' : `; layers ${formatItems(weights.layerNames, quote)}`;
  const activation = weights.activationAssumed
    ? 'ReLU between layers (assumed: a state_dict does not record the activation)'
    : `${weights.activation} between layers`;
  return `${where}${layers}; ${activation}`;
}

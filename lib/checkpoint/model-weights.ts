// A network's weights from any file fcnet reads: its own safetensors, a training checkpoint (the
// parameters; Adam's state is left out) or PyTorch's torch.save(state_dict) zip. The layer sizes come
// from the weights' shapes: fc1.weight (H, I), fc2.weight (O, H), ... as PyTorch's nn.Linear stores them.

import type { BackendChoice } from '../backends';
import { checkKnownOptions, invalidArgument } from '../check';
import { formatItems, quote } from '../io/bounded-text';
import { MLP } from '../model';
import type { StateDict } from '../tensor';
import { formatShape, sameShape } from './expected-shapes';
import { readCheckpointFile } from './read-checkpoint-file';
import { decodeSafetensors } from './safetensors';
import { readTorchCheckpoint } from './torch-zip';
import { isTrainingCheckpoint, trainingCheckpointFrom } from './training-checkpoint';

export type WeightsFormat = 'safetensors' | 'training checkpoint' | 'PyTorch checkpoint';

export interface ModelWeights {
  /** Layer widths, input first, read off the weights' shapes. */
  sizes: number[];
  /** fc1.weight, fc1.bias, fc2.weight, ... in that order. */
  parameters: StateDict;
  format: WeightsFormat;
}

/**
 * Which reader a file needs, from its first bytes: torch.save has written zip archives ('PK\x03\x04') since
 * PyTorch 1.6, and a bare pickle (0x80) before, which readTorchCheckpoint refuses with advice; safetensors
 * starts with an 8-byte header length and then the JSON header's '{'.
 */
function readerFor(bytes: Uint8Array): 'torch' | 'safetensors' | null {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'torch';
  if (bytes.length >= 9 && bytes[8] === 0x7b) return 'safetensors';
  if (bytes.length > 0 && bytes[0] === 0x80) return 'torch';
  return null;
}

/**
 * The widths of the MLP whose state_dict `tensors` is: Linear layers fc1, fc2, ... each with a 2-D weight
 * (outputs, inputs) and a bias (outputs), each layer taking the one before's outputs, and no other tensor.
 */
export function layerSizesOf(tensors: StateDict, source: string): number[] {
  const fail = (problem: string): Error => new Error(`${source}: ${problem}`);
  const names = Object.keys(tensors);
  if (!Object.hasOwn(tensors, 'fc1.weight')) {
    const found = names.length ? formatItems(names, quote, 6) : 'no tensors';
    throw fail(`no tensor 'fc1.weight': expected the state_dict of Linear layers fc1, fc2, ... (fc1.weight, fc1.bias, ...) but found ${found}`);
  }
  const sizes: number[] = [];
  const used = new Set<string>();
  for (let l = 1; Object.hasOwn(tensors, `fc${l}.weight`); l++) {
    const weight = `fc${l}.weight`, bias = `fc${l}.bias`;
    const shape = tensors[weight].shape;
    if (shape.length !== 2 || shape[0] < 1 || shape[1] < 1) {
      throw fail(`tensor '${weight}' has shape ${formatShape(shape)} but a Linear layer's weight is (outputs, inputs)`);
    }
    const [outputs, inputs] = shape;
    if (l === 1) sizes.push(inputs);
    else if (inputs !== sizes[l - 1]) {
      throw fail(`tensor '${weight}' has shape ${formatShape(shape)} but fc${l - 1} has ${sizes[l - 1]} outputs: expected [${outputs}, ${sizes[l - 1]}]`);
    }
    if (!Object.hasOwn(tensors, bias)) throw fail(`missing tensor '${bias}' (fcnet's layers all have biases)`);
    if (!sameShape(tensors[bias].shape, [outputs])) {
      throw fail(`tensor '${bias}' has shape ${formatShape(tensors[bias].shape)} but '${weight}' ${formatShape(shape)} needs [${outputs}]`);
    }
    sizes.push(outputs);
    used.add(weight).add(bias);
  }
  const extra = names.filter((n) => !used.has(n));
  if (extra.length) {
    throw fail(`unexpected tensor ${quote(extra[0])}: fcnet reads MLPs of Linear layers fc1..fc${sizes.length - 1} and ReLUs, nothing else`);
  }
  return sizes;
}

function checkFinite(parameters: StateDict, source: string): void {
  for (const [name, { data }] of Object.entries(parameters)) {
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new Error(`${source}: tensor ${quote(name)} holds ${data[bad]} at index ${bad}`);
  }
}

/** Reads a network's weights from a safetensors file, a training checkpoint or a PyTorch checkpoint. */
export function readModelWeights(path: string): ModelWeights {
  if (typeof path !== 'string') throw invalidArgument('string', 'path', path);
  const bytes = readCheckpointFile(path);
  let format: WeightsFormat;
  let tensors: StateDict;
  const reader = readerFor(bytes);
  if (reader === null) throw new Error(`${path}: neither a safetensors file nor a PyTorch checkpoint (torch.save's zip archive)`);
  if (reader === 'torch') {
    format = 'PyTorch checkpoint';
    tensors = readTorchCheckpoint(bytes, { source: path });
  } else {
    const contents = decodeSafetensors(bytes, { source: path });
    if (isTrainingCheckpoint(contents.metadata)) {
      format = 'training checkpoint';
      tensors = trainingCheckpointFrom(contents, path).parameters;
    } else {
      format = 'safetensors';
      tensors = contents.tensors;
    }
  }
  const sizes = layerSizesOf(tensors, path);
  const parameters: StateDict = {};
  for (let l = 1; l < sizes.length; l++) {
    parameters[`fc${l}.weight`] = tensors[`fc${l}.weight`];
    parameters[`fc${l}.bias`] = tensors[`fc${l}.bias`];
  }
  checkFinite(parameters, path);
  return { sizes, parameters, format };
}

export interface LoadMLPOptions {
  /** Where the math runs. Default 'auto'. */
  backend?: BackendChoice;
  /** CPU threads for the native backend. */
  threads?: number;
}

/** An MLP with the sizes and weights in `path` (any file readModelWeights reads), ready for logits / evaluate. */
export function loadMLP(path: string, options: LoadMLPOptions = {}): MLP {
  checkKnownOptions('loadMLP', options, ['backend', 'threads']);
  const { sizes, parameters } = readModelWeights(path);
  const model = new MLP({ ...options, sizes });
  model.loadStateDict(parameters);
  return model;
}

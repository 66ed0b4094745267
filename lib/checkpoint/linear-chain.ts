// The MLP a state_dict describes: Linear layers read by their weight/bias pairs, whatever their names
// (fc1, 0, linear_relu_stack.0, layers.2, hidden, out, module.fc1, ...), when the pairs form a chain: each
// layer takes the one before's outputs. Weight (outputs, inputs) and bias (outputs), as nn.Linear stores them.
// The order is the file's (a state_dict's order is the order modules were declared in); when that does not
// chain, the names' natural order (0 < 2 < 10), which files with sorted keys need.

import type { StateDict } from '../tensor';
import { clipText, formatItems, quote } from '../io/bounded-text';
import { formatShape } from './expected-shapes';

export interface LinearChain {
  /** Layer widths, input first. */
  sizes: number[];
  /** Each layer's name: its tensors are `<name>.weight` and `<name>.bias` ('fc1', '0', 'module.fc2', ...). */
  layerNames: string[];
}

interface Pair {
  name: string;
  weight?: readonly number[];
  bias?: readonly number[];
}

const quoteAll = (names: readonly string[]): string => formatItems(names, quote);

/** What a tensor that is no Linear layer's most likely is, and what to do about it. */
function foreignTensor(name: string, shape: readonly number[]): string {
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  if (['running_mean', 'running_var', 'num_batches_tracked'].includes(leaf)) {
    return `tensor ${quote(name)} belongs to a BatchNorm layer; fcnet runs chains of Linear layers only: fold the BatchNorm into the Linear layer before it, or train without it`;
  }
  if (leaf === 'weight' && shape.length >= 3) {
    return `tensor ${quote(name)} has shape ${formatShape(shape)}, a convolution's weight; fcnet runs chains of Linear layers only (a fully connected network)`;
  }
  if (leaf === 'weight' && shape.length === 1) {
    return `tensor ${quote(name)} has shape ${formatShape(shape)}, the weight of a normalisation layer (BatchNorm, LayerNorm); fcnet runs chains of Linear layers only`;
  }
  return `unexpected tensor ${quote(name)} (shape ${formatShape(shape)}): fcnet reads the weight/bias pairs of Linear layers and nothing else`;
}

/** `a` before `b` in natural order: digit runs compare as numbers, so 'layers.2' < 'layers.10'. */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function chains(layers: readonly Required<Pair>[]): boolean {
  return layers.every((layer, l) => l === 0 || layer.weight[1] === layers[l - 1].weight[0]);
}

/**
 * The sizes and layer names of the chain of Linear layers that `tensors` hold. `order`, when given, names the
 * layers in the order they run (fcnet's own files record it). Errors start with `source` and name the tensor.
 */
export function linearChain(tensors: StateDict, source: string, order?: readonly string[]): LinearChain {
  const fail = (problem: string): Error => new Error(`${source}: ${problem}`);
  const names = Object.keys(tensors);
  if (names.length === 0) throw fail('holds no tensors: expected the state_dict of Linear layers (fc1.weight, fc1.bias, ...)');
  const pairs = new Map<string, Pair>();
  for (const name of names) {
    const dot = name.lastIndexOf('.');
    const [prefix, leaf] = dot < 0 ? ['', name] : [name.slice(0, dot), name.slice(dot + 1)];
    const { shape } = tensors[name];
    const isWeight = leaf === 'weight' && shape.length === 2;
    const isBias = leaf === 'bias' && shape.length === 1;
    if (!isWeight && !isBias) throw fail(foreignTensor(name, shape));
    const pair = pairs.get(prefix) ?? { name: prefix };
    pairs.set(prefix, pair);
    if (isWeight) pair.weight = shape;
    else pair.bias = shape;
  }
  for (const pair of pairs.values()) {
    const weight = pair.name === '' ? 'weight' : `${pair.name}.weight`;
    const bias = pair.name === '' ? 'bias' : `${pair.name}.bias`;
    if (!pair.weight) throw fail(`tensor ${quote(bias)} has no ${quote(weight)} beside it`);
    if (pair.weight[0] < 1 || pair.weight[1] < 1) throw fail(`tensor ${quote(weight)} has shape ${formatShape(pair.weight)}: a layer needs at least one input and one output`);
    if (!pair.bias) {
      throw fail(`missing tensor ${quote(bias)}: the layer was made with bias=False, and fcnet's layers all have biases; add a zero bias (torch.zeros(${pair.weight[0]})) under that name`);
    }
    if (pair.bias[0] !== pair.weight[0]) {
      throw fail(`tensor ${quote(bias)} has shape ${formatShape(pair.bias)} but ${quote(weight)} ${formatShape(pair.weight)} needs [${pair.weight[0]}]`);
    }
  }
  const inFile = [...pairs.values()] as Required<Pair>[];
  let layers: Required<Pair>[];
  if (order !== undefined) {
    const known = new Set(order);
    const stray = inFile.find((pair) => !known.has(pair.name));
    const missing = order.find((name) => !pairs.has(name));
    if (stray || missing !== undefined || known.size !== order.length) {
      throw fail(`its recorded layer order [${quoteAll(order)}] does not match its layers [${quoteAll(inFile.map((p) => p.name))}]`);
    }
    layers = order.map((name) => pairs.get(name) as Required<Pair>);
  } else {
    layers = inFile;
    if (!chains(layers)) {
      const sorted = [...inFile].sort((a, b) => naturalCompare(a.name, b.name));
      if (chains(sorted)) layers = sorted;
    }
  }
  if (!chains(layers)) {
    const shapes = formatItems(layers, (p) => `${p.name ? clipText(p.name) : '(unnamed)'} ${formatShape(p.weight)}`);
    const l = layers.findIndex((layer, i) => i > 0 && layer.weight[1] !== layers[i - 1].weight[0]);
    throw fail(`its Linear layers do not form a chain: ${quote(layers[l].name)} takes ${layers[l].weight[1]} inputs but ${quote(layers[l - 1].name)} gives ${layers[l - 1].weight[0]} outputs (weights, (outputs, inputs): ${shapes})`);
  }
  return { sizes: [layers[0].weight[1], ...layers.map((p) => p.weight[0])], layerNames: layers.map((p) => p.name) };
}

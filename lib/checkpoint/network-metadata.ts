// What a weights file records of the network beyond its Linear layers (activation, dropout, loss, class weights,
// input transform, what logits() takes): ONE versioned JSON entry in safetensors' __metadata__, key 'fcnet':
//   {"format":1,"activation":"gelu","negative_slope":0.01,"dropout":0.1,"loss":"cross_entropy",
//    "class_weights":null,"input_mean":[...],"input_std":[...],"input":"pixels"}
// The tensors stay the Linear pairs (fc1.weight, fc1.bias, ...), so PyTorch still loads them with strict=True.
// A file without the entry (earlier fcnet versions, PyTorch's own files) is ReLU + cross-entropy; a file of a
// newer format is refused, rather than half understood.
import type { InputKind, MLP, MLPOptions } from '../model';
import { activations, lossNames } from '../network';

/** The __metadata__ key. */
export const NETWORK_METADATA_KEY = 'fcnet';
/** Raised when the entry changes in a way that older readers would misread. */
export const NETWORK_FORMAT = 1;

/** The options of MLP that a weights file records. */
export type NetworkOptions = Pick<MLPOptions, 'activation' | 'negativeSlope' | 'dropout' | 'loss' | 'classWeights' | 'inputMean' | 'inputStd' | 'input'>;

const vector = (v: Float32Array | null): number[] | null => (v === null ? null : Array.from(v));

/** The __metadata__ entry that records `model`'s network: { fcnet: '{"format":1,...}' }. */
export function networkMetadata(model: MLP): Record<string, string> {
  const s = model.spec;
  const entry = {
    format: NETWORK_FORMAT,
    activation: s.activation,
    negative_slope: s.negativeSlope,
    dropout: s.dropout,
    loss: s.loss,
    class_weights: vector(s.classWeights),
    input_mean: vector(s.inputMean),
    input_std: vector(s.inputStd),
    input: model.input,
  };
  return { [NETWORK_METADATA_KEY]: JSON.stringify(entry) };
}

/**
 * The MLP options recorded in a file's __metadata__ (absent: {} — ReLU and cross-entropy, as every file before
 * the entry existed). Throws, naming the file, on a newer format or a malformed entry; the values themselves are
 * checked again by MLP's constructor, with its messages.
 */
export function networkOptionsFromMetadata(metadata: Record<string, string> | undefined, source: string): NetworkOptions {
  const text = metadata?.[NETWORK_METADATA_KEY];
  if (text === undefined) return {};
  const fail = (problem: string): Error => new Error(`${source}: __metadata__ '${NETWORK_METADATA_KEY}' ${problem}`);
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch (error) {
    throw fail(`is not JSON (${(error as Error).message})`);
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw fail('must be a JSON object');
  const e = entry as Record<string, unknown>;
  if (!Number.isInteger(e.format) || (e.format as number) < 1) throw fail(`has format ${String(e.format).slice(0, 20)}; expected an integer ≥ 1`);
  if ((e.format as number) > NETWORK_FORMAT) {
    throw new Error(`${source}: written by a newer fcnet (network format ${e.format}; this fcnet reads format ${NETWORK_FORMAT}): upgrade fcnet to load it`);
  }
  const known = ['format', 'activation', 'negative_slope', 'dropout', 'loss', 'class_weights', 'input_mean', 'input_std', 'input'];
  const unknown = Object.keys(e).filter((k) => !known.includes(k));
  if (unknown.length) throw fail(`has unknown field '${unknown[0].slice(0, 40)}' for format ${NETWORK_FORMAT}`);
  const options: NetworkOptions = {};
  if (e.activation !== undefined) {
    if (!activations.includes(e.activation as never)) throw fail(`names activation ${JSON.stringify(e.activation).slice(0, 40)}; known: ${activations.join(', ')}`);
    options.activation = e.activation as NetworkOptions['activation'];
  }
  if (e.loss !== undefined) {
    if (!lossNames.includes(e.loss as never)) throw fail(`names loss ${JSON.stringify(e.loss).slice(0, 40)}; known: ${lossNames.join(', ')}`);
    options.loss = e.loss as NetworkOptions['loss'];
  }
  if (e.negative_slope !== undefined) options.negativeSlope = e.negative_slope as number;
  if (e.dropout !== undefined) options.dropout = e.dropout as number;
  const numbers = (name: string, value: unknown): number[] | undefined => {
    if (value === null || value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((x) => typeof x === 'number')) throw fail(`field '${name}' must be null or an array of numbers`);
    return value;
  };
  const classWeights = numbers('class_weights', e.class_weights);
  if (classWeights) options.classWeights = classWeights;
  const inputMean = numbers('input_mean', e.input_mean);
  const inputStd = numbers('input_std', e.input_std);
  if (inputMean) options.inputMean = inputMean;
  if (inputStd) options.inputStd = inputStd;
  if (e.input !== undefined) {
    if (e.input !== 'pixels' && e.input !== 'features') throw fail(`field 'input' must be 'pixels' or 'features'`);
    options.input = e.input as InputKind;
  }
  return options;
}

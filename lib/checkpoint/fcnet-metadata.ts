// What fcnet records about a network beside its tensors, in safetensors' __metadata__: ONE versioned JSON entry
// under the key 'fcnet', e.g.
//   {"format":1,"layers":["0","2"]}
//   {"format":1,"activation":"gelu","negative_slope":0.01,"dropout":0.1,"loss":"cross_entropy",
//    "class_weights":null,"input_mean":[...],"input_std":[...],"input":"pixels"}
//   {"format":1,...,"class_names":["benign","malignant"],"feature_names":[...],"target_names":["diagnosis"]}
// `layers`: the Linear layers' state_dict names in the order they run, when not fc1, fc2, ...; the other fields:
// what the network computes besides its Linear layers, when that is not the reference (ReLU, no dropout,
// cross-entropy, no transform, pixel inputs). The tensors stay the Linear pairs, so PyTorch loads them with
// strict=True; a file without the entry (earlier fcnet versions, PyTorch's own files) is the reference network;
// a newer format is refused rather than half understood.
import type { MLP, MLPOptions } from '../model';
import { defaultLayerNames } from '../model';
import { activations, isReferenceSemantics, lossNames } from '../network';

export const FCNET_METADATA_KEY = 'fcnet';
export const FCNET_METADATA_FORMAT = 1;

/** The options of MLP that a weights file records beyond its sizes and layer names. */
export type NetworkOptions = Pick<MLPOptions, 'activation' | 'negativeSlope' | 'dropout' | 'loss' | 'classWeights' | 'inputMean' | 'inputStd' | 'input'
  | 'classNames' | 'featureNames' | 'targetNames'>;

export interface FcnetMetadata {
  /** The Linear layers' state_dict names in the order they run (recorded when not fc1, fc2, ...). */
  layers?: string[];
  /** What the network computes beyond its Linear layers; {} is the reference network (ReLU, cross-entropy). */
  network: NetworkOptions;
}

const vector = (v: Float32Array | null): number[] | null => (v === null ? null : Array.from(v));

/** The __metadata__ entry for `model`: {} when it holds nothing that the tensors and the defaults do not already say. */
export function fcnetMetadataOf(model: MLP): Record<string, string> {
  const entry: Record<string, unknown> = { format: FCNET_METADATA_FORMAT };
  const standard = defaultLayerNames(model.layerNames.length);
  if (!model.layerNames.every((name, l) => name === standard[l])) entry.layers = [...model.layerNames];
  const s = model.spec;
  if (!isReferenceSemantics(s) || model.input !== 'pixels') {
    Object.assign(entry, {
      activation: s.activation,
      negative_slope: s.negativeSlope,
      dropout: s.dropout,
      loss: s.loss,
      class_weights: vector(s.classWeights),
      input_mean: vector(s.inputMean),
      input_std: vector(s.inputStd),
      input: model.input,
    });
  }
  // What the data called things (issue 14): class i's name, the feature and target columns, so classify() answers
  // with names and eval/predict pick a CSV's columns by name. Absent when unknown.
  if (model.classNames) entry.class_names = [...model.classNames];
  if (model.featureNames) entry.feature_names = [...model.featureNames];
  if (model.targetNames) entry.target_names = [...model.targetNames];
  return Object.keys(entry).length === 1 ? {} : { [FCNET_METADATA_KEY]: JSON.stringify(entry) };
}

const knownFields = ['format', 'layers', 'activation', 'negative_slope', 'dropout', 'loss', 'class_weights', 'input_mean', 'input_std', 'input',
  'class_names', 'feature_names', 'target_names'];

/**
 * The 'fcnet' entry of `metadata`, checked; { network: {} } when there is none. The network's values are checked
 * again by MLP's constructor, with its messages.
 */
export function readFcnetMetadata(metadata: Record<string, string>, source: string): FcnetMetadata {
  if (!Object.hasOwn(metadata, FCNET_METADATA_KEY)) return { network: {} };
  const fail = (problem: string): Error => new Error(`${source}: __metadata__ '${FCNET_METADATA_KEY}' ${problem}`);
  let entry: unknown;
  try {
    entry = JSON.parse(metadata[FCNET_METADATA_KEY]);
  } catch {
    throw fail('is not JSON');
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw fail('is not a JSON object');
  const e = entry as Record<string, unknown>;
  const { format, layers } = e;
  if (typeof format !== 'number' || !Number.isInteger(format)) throw fail("has no integer 'format'");
  if (format > FCNET_METADATA_FORMAT) throw fail(`has format ${format}, newer than this fcnet reads (${FCNET_METADATA_FORMAT}): upgrade fcnet`);
  const unknown = Object.keys(e).filter((k) => !knownFields.includes(k));
  if (unknown.length) throw fail(`has unknown field '${unknown[0].slice(0, 40)}' for format ${FCNET_METADATA_FORMAT}`);
  if (layers !== undefined && (!Array.isArray(layers) || !layers.every((name) => typeof name === 'string'))) {
    throw fail("field 'layers' is not a list of names");
  }
  const network: NetworkOptions = {};
  if (e.activation !== undefined) {
    if (!activations.includes(e.activation as never)) throw fail(`names activation ${JSON.stringify(e.activation).slice(0, 40)}; known: ${activations.join(', ')}`);
    network.activation = e.activation as NetworkOptions['activation'];
  }
  if (e.loss !== undefined) {
    if (!lossNames.includes(e.loss as never)) throw fail(`names loss ${JSON.stringify(e.loss).slice(0, 40)}; known: ${lossNames.join(', ')}`);
    network.loss = e.loss as NetworkOptions['loss'];
  }
  if (e.negative_slope !== undefined) network.negativeSlope = e.negative_slope as number;
  if (e.dropout !== undefined) network.dropout = e.dropout as number;
  // A field that is null, absent, or an array of one type.
  const arrayOf = <T extends 'number' | 'string'>(type: T, name: string, value: unknown): (T extends 'number' ? number[] : string[]) | undefined => {
    if (value === null || value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((x) => typeof x === type)) throw fail(`field '${name}' must be null or an array of ${type}s`);
    return value as T extends 'number' ? number[] : string[];
  };
  const classWeights = arrayOf('number', 'class_weights', e.class_weights);
  const inputMean = arrayOf('number', 'input_mean', e.input_mean);
  const inputStd = arrayOf('number', 'input_std', e.input_std);
  if (classWeights) network.classWeights = classWeights;
  if (inputMean) network.inputMean = inputMean;
  if (inputStd) network.inputStd = inputStd;
  const classNames = arrayOf('string', 'class_names', e.class_names);
  const featureNames = arrayOf('string', 'feature_names', e.feature_names);
  const targetNames = arrayOf('string', 'target_names', e.target_names);
  if (classNames) network.classNames = classNames;
  if (featureNames) network.featureNames = featureNames;
  if (targetNames) network.targetNames = targetNames;
  if (e.input !== undefined) {
    if (e.input !== 'pixels' && e.input !== 'features') throw fail("field 'input' must be 'pixels' or 'features'");
    network.input = e.input;
  }
  return layers === undefined ? { network } : { layers: layers as string[], network };
}

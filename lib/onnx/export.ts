// exportOnnx: an fcnet network as a .onnx file that ONNX Runtime (and anything else that reads ONNX) runs.
import { writeFileAtomic } from '../checkpoint/atomic-write';
import { checkKnownOptions, invalidArgument } from '../check';
import type { StateDict } from '../tensor';
import { fcnetVersion } from '../version';
import { hasProbabilities, onnxModel, type OnnxActivation, type OnnxLoss, type OnnxNetwork } from './graph';
import { encodeModelProto } from './proto';

/**
 * What exportOnnx reads from a model: an MLP (`loadMLP(file)` gives one for any weights file fcnet reads). The
 * semantics come from `model.spec` (issue 13's NetworkSpec: activation, negativeSlope, loss, inputMean, inputStd);
 * a model without one is the reference network: ReLU, cross-entropy, no input transform.
 */
export interface ExportableModel {
  readonly sizes: readonly number[];
  /** Each Linear layer's state_dict name (MLP's layerNames); default fc1, fc2, ... */
  readonly layerNames?: readonly string[];
  stateDict(): StateDict;
  readonly spec?: {
    readonly activation?: string;
    readonly negativeSlope?: number;
    readonly loss?: string;
    readonly inputMean?: Float32Array | null;
    readonly inputStd?: Float32Array | null;
    readonly classNames?: readonly string[] | null;
  };
  readonly classNames?: readonly string[] | null;
}

export interface OnnxExportOptions {
  /** (O) a name per output, written to metadata_props as class_names; default: the model's own, if it has any. */
  classNames?: readonly string[];
}

/** The network of `model` as the ONNX graph builder takes it. */
export function onnxNetworkOf(model: ExportableModel, options: OnnxExportOptions = {}): OnnxNetwork {
  if (model === null || typeof model !== 'object' || typeof model.stateDict !== 'function' || !Array.isArray(model.sizes)) {
    throw invalidArgument('MLP', 'model', model);
  }
  checkKnownOptions('exportOnnx', options, ['classNames']);
  if (options.classNames !== undefined && !Array.isArray(options.classNames)) throw invalidArgument('array of strings', 'classNames', options.classNames);
  const spec = model.spec ?? {};
  return {
    sizes: model.sizes,
    layerNames: model.layerNames ?? model.sizes.slice(1).map((_, l) => `fc${l + 1}`),
    parameters: model.stateDict(),
    activation: (spec.activation ?? 'relu') as OnnxActivation,
    negativeSlope: spec.negativeSlope ?? 0.01,
    loss: (spec.loss ?? 'cross_entropy') as OnnxLoss,
    inputMean: spec.inputMean ?? null,
    inputStd: spec.inputStd ?? null,
    classNames: options.classNames ?? spec.classNames ?? model.classNames ?? null,
  };
}

/**
 * The bytes of the .onnx file for `model`: ONNX opset 17, IR version 8. Input `input` (batch, D) float32: the
 * features as MLP.logits takes them (pixels / 255); outputs `logits` (batch, O) and, for cross_entropy and
 * bce_with_logits models, `probabilities` (batch, O): Softmax or Sigmoid of the logits. The batch is dynamic.
 * Throws RangeError when the model's parameters or spec do not describe a network ONNX can hold.
 */
export function encodeOnnx(model: ExportableModel, options: OnnxExportOptions = {}): Uint8Array {
  return encodeModelProto(onnxModel(onnxNetworkOf(model, options), fcnetVersion()));
}

/**
 * Writes `model` to `path` as ONNX (see encodeOnnx), atomically: a crash leaves the old file or the new one.
 * Returns the graph's output names: ['logits', 'probabilities'], or ['logits'] for a regression loss.
 */
export function exportOnnx(model: ExportableModel, path: string, options: OnnxExportOptions = {}): { outputs: string[] } {
  if (typeof path !== 'string' || path === '') throw invalidArgument('non-empty string', 'path', path);
  const net = onnxNetworkOf(model, options);
  writeFileAtomic(path, encodeModelProto(onnxModel(net, fcnetVersion())));
  return { outputs: hasProbabilities(net.loss) ? ['logits', 'probabilities'] : ['logits'] };
}

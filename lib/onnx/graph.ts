// fcnet's network as an ONNX model (opset 17, IR 8: what ONNX 1.12, Debian's python3-onnx, checks), as a plain
// object shaped like onnx.ModelProto (field names as in onnx.proto). The graph:
//
//   input (batch, D) ─[Sub input_mean, Div input_std]─ Gemm ─ act ─ Gemm ─ ... ─ Gemm ─ logits (batch, O)
//                                                                            └─ Softmax | Sigmoid ─ probabilities
//
// Gemm computes x·Wᵀ + b with W = <layer>.weight (O, I) as PyTorch stores it (transB = 1), so the initializers
// keep the state_dict's names (fc1.weight, or 0.weight, linear_relu_stack.0.weight, ... for a PyTorch file's
// layer names) and shapes. Dropout is the identity outside training, so it has no node.
// Operator semantics: https://github.com/onnx/onnx/blob/v1.12.0/docs/Operators.md
import type { StateDict } from '../tensor';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

/** The activations and losses of issue 13's NetworkSpec (lib/network.ts), spelled as there. */
export const onnxActivations = ['relu', 'leaky_relu', 'tanh', 'sigmoid', 'gelu'] as const;
export const onnxLosses = ['cross_entropy', 'bce_with_logits', 'mse', 'l1'] as const;
export type OnnxActivation = (typeof onnxActivations)[number];
export type OnnxLoss = (typeof onnxLosses)[number];

/** Everything the ONNX graph is made from. */
export interface OnnxNetwork {
  /** Layer widths, input first: [784, 500, 10]. */
  sizes: readonly number[];
  /** Each Linear layer's state_dict name: its tensors are `<name>.weight`, `<name>.bias` (bare weight, bias for ''). */
  layerNames: readonly string[];
  /** <layer>.weight (O, I) and <layer>.bias (O) of every layer, as PyTorch's state_dict. */
  parameters: StateDict;
  /** After every hidden Linear (not after the last). */
  activation: OnnxActivation;
  /** leaky_relu's slope for x < 0 (ONNX LeakyRelu's alpha). */
  negativeSlope: number;
  /** Decides the second output: Softmax for cross_entropy, Sigmoid for bce_with_logits, none for mse and l1. */
  loss: OnnxLoss;
  /** (D) x' = (x − mean) / std before the first layer; both or neither. */
  inputMean: Float32Array | null;
  inputStd: Float32Array | null;
  /** (O) a name per output, written to metadata_props as class_names (a JSON array). */
  classNames: readonly string[] | null;
}

// onnx.proto's enum values (TensorProto.DataType.FLOAT, AttributeProto.AttributeType.FLOAT / INT).
const FLOAT = 1;
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;

type Node = { name: string; op_type: string; input: string[]; output: string[]; attribute?: object[] };
type Initializer = { name: string; data_type: number; dims: number[]; raw_data: Uint8Array };

/** A float32 tensor, its values as raw little-endian bytes (TensorProto.raw_data's layout). */
function floatTensor(name: string, dims: number[], values: ArrayLike<number>): Initializer {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return { name, data_type: FLOAT, dims, raw_data: raw };
}

/** A float tensor input or output of the graph, (batch, width) with the batch left dynamic. */
function batchOf(name: string, width: number, doc: string): object {
  return {
    name,
    doc_string: doc,
    type: { tensor_type: { elem_type: FLOAT, shape: { dim: [{ dim_param: 'batch' }, { dim_value: width }] } } },
  };
}

function fail(problem: string): Error {
  return new RangeError(`exportOnnx: ${problem}`);
}

/** The state_dict names of layer l's (1-based) weight and bias. */
function tensorNames(net: OnnxNetwork, l: number): { weight: string; bias: string } {
  const layer = net.layerNames[l - 1];
  const prefix = layer === '' ? '' : `${layer}.`; // a bare nn.Linear's state_dict: weight, bias
  return { weight: `${prefix}weight`, bias: `${prefix}bias` };
}

function checkNetwork(net: OnnxNetwork): void {
  const { sizes, parameters } = net;
  if (sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s >= 1)) throw fail(`expected at least 2 layer sizes of 1 or more but received [${sizes.join(', ')}]`);
  if (net.layerNames.length !== sizes.length - 1) throw fail(`${net.layerNames.length} layer names for ${sizes.length - 1} layers`);
  for (let l = 1; l < sizes.length; l++) {
    const { weight, bias } = tensorNames(net, l);
    for (const [name, shape] of [[weight, [sizes[l], sizes[l - 1]]], [bias, [sizes[l]]]] as const) {
      const t = parameters[name];
      if (!t) throw fail(`missing parameter '${name}'`);
      if (t.shape.join(',') !== shape.join(',') || t.data.length !== shape.reduce((a, b) => a * b, 1)) {
        throw fail(`parameter '${name}' has shape [${t.shape.join(', ')}] (${t.data.length} values) but sizes [${sizes.join(', ')}] need [${shape.join(', ')}]`);
      }
    }
  }
  if (!onnxActivations.includes(net.activation)) throw fail(`unknown activation '${net.activation}': expected one of ${onnxActivations.join(', ')}`);
  if (!onnxLosses.includes(net.loss)) throw fail(`unknown loss '${net.loss}': expected one of ${onnxLosses.join(', ')}`);
  if (!Number.isFinite(net.negativeSlope)) throw fail(`negativeSlope is ${net.negativeSlope}; expected a finite number`);
  if ((net.inputMean === null) !== (net.inputStd === null)) throw fail('the input transform needs both inputMean and inputStd, or neither');
  const D = sizes[0];
  for (const [name, values] of [['inputMean', net.inputMean], ['inputStd', net.inputStd]] as const) {
    if (values === null) continue;
    if (values.length !== D) throw fail(`${name} has ${values.length} values but the network has ${D} inputs`);
    const bad = values.findIndex((v) => !Number.isFinite(v) || (name === 'inputStd' && v <= 0));
    if (bad >= 0) throw fail(`${name}[${bad}] is ${values[bad]}; expected a finite number${name === 'inputStd' ? ' above 0' : ''}`);
  }
  const O = sizes[sizes.length - 1];
  if (net.classNames !== null) {
    if (net.classNames.length !== O) throw fail(`${net.classNames.length} class names for a network with ${O} outputs`);
    const bad = net.classNames.findIndex((n) => typeof n !== 'string');
    if (bad >= 0) throw fail(`class name ${bad} is ${typeof net.classNames[bad]}; expected a string`);
  }
}

/** The nodes of one activation from `x` to `y`; GELU (not an operator before opset 20) from Erf. */
function activationNodes(net: OnnxNetwork, x: string, y: string, constants: Set<string>): Node[] {
  switch (net.activation) {
    case 'relu':
      return [{ name: y, op_type: 'Relu', input: [x], output: [y] }];
    case 'leaky_relu':
      return [{ name: y, op_type: 'LeakyRelu', input: [x], output: [y], attribute: [{ name: 'alpha', type: ATTRIBUTE_FLOAT, f: net.negativeSlope }] }];
    case 'tanh':
      return [{ name: y, op_type: 'Tanh', input: [x], output: [y] }];
    case 'sigmoid':
      return [{ name: y, op_type: 'Sigmoid', input: [x], output: [y] }];
    case 'gelu':
      // gelu(x) = x · 0.5 · (1 + erf(x / √2)), PyTorch's nn.GELU(approximate='none'); torch.onnx writes the same nodes.
      for (const c of ['sqrt2', 'one', 'half']) constants.add(c);
      return [
        { name: `${y}/div`, op_type: 'Div', input: [x, 'sqrt2'], output: [`${y}/div`] },
        { name: `${y}/erf`, op_type: 'Erf', input: [`${y}/div`], output: [`${y}/erf`] },
        { name: `${y}/add`, op_type: 'Add', input: [`${y}/erf`, 'one'], output: [`${y}/add`] },
        { name: `${y}/mul`, op_type: 'Mul', input: [x, `${y}/add`], output: [`${y}/mul`] },
        { name: y, op_type: 'Mul', input: [`${y}/mul`, 'half'], output: [y] },
      ];
  }
}

/** Whether the graph has the second output `probabilities` (the losses whose logits are probabilities' logits). */
export function hasProbabilities(loss: OnnxLoss): boolean {
  return loss === 'cross_entropy' || loss === 'bce_with_logits';
}

const scalarConstants: Record<string, number> = { sqrt2: Math.SQRT2, one: 1, half: 0.5 };

/** onnx.ModelProto (as a plain object) for the network; `producerVersion` is fcnet's version. */
export function onnxModel(net: OnnxNetwork, producerVersion: string): Record<string, unknown> {
  checkNetwork(net);
  const { sizes, parameters } = net;
  const D = sizes[0], O = sizes[sizes.length - 1], L = sizes.length - 1;
  const nodes: Node[] = [];
  const initializers: Initializer[] = [];
  const constants = new Set<string>();

  let x = 'input';
  if (net.inputMean !== null && net.inputStd !== null) {
    initializers.push(floatTensor('input_mean', [D], net.inputMean), floatTensor('input_std', [D], net.inputStd));
    nodes.push(
      { name: 'input_centred', op_type: 'Sub', input: [x, 'input_mean'], output: ['input_centred'] },
      { name: 'input_standardized', op_type: 'Div', input: ['input_centred', 'input_std'], output: ['input_standardized'] },
    );
    x = 'input_standardized';
  }
  for (let l = 1; l <= L; l++) {
    const { weight, bias } = tensorNames(net, l);
    initializers.push(floatTensor(weight, [sizes[l], sizes[l - 1]], parameters[weight].data), floatTensor(bias, [sizes[l]], parameters[bias].data));
    // Values are named by position (linear1, relu1, ...): a layer's own name may be '0' or ''.
    const y = l === L ? 'logits' : `linear${l}`;
    nodes.push({ name: net.layerNames[l - 1] || `linear${l}`, op_type: 'Gemm', input: [x, weight, bias], output: [y], attribute: [{ name: 'transB', type: ATTRIBUTE_INT, i: 1 }] });
    x = y;
    if (l < L) {
      const activated = `${net.activation}${l}`;
      nodes.push(...activationNodes(net, x, activated, constants));
      x = activated;
    }
  }
  for (const c of constants) initializers.push(floatTensor(c, [], [scalarConstants[c]]));

  const outputs = [batchOf('logits', O, 'the last Linear layer\'s outputs, what fcnet\'s MLP.logits returns')];
  if (hasProbabilities(net.loss)) {
    const softmax = net.loss === 'cross_entropy';
    nodes.push(softmax
      ? { name: 'probabilities', op_type: 'Softmax', input: ['logits'], output: ['probabilities'], attribute: [{ name: 'axis', type: ATTRIBUTE_INT, i: -1 }] }
      : { name: 'probabilities', op_type: 'Sigmoid', input: ['logits'], output: ['probabilities'] });
    outputs.push(batchOf('probabilities', O, softmax ? 'softmax of the logits over the classes' : 'sigmoid of each logit'));
  }

  const transform = net.inputMean !== null ? ', then standardized inside the graph with input_mean and input_std' : '';
  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'fcnet',
    producer_version: producerVersion,
    doc_string: `A fully connected network ${sizes.join('-')} (${net.activation}, trained with ${net.loss}) exported by fcnet`,
    graph: {
      name: 'fcnet_mlp',
      node: nodes,
      initializer: initializers,
      input: [batchOf('input', D, `features as fcnet's MLP.logits takes them (pixels / 255 for images)${transform}`)],
      output: outputs,
    },
    metadata_props: net.classNames === null ? [] : [{ key: 'class_names', value: JSON.stringify(net.classNames) }],
  };
}

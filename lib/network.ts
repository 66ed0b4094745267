// What a network is, independent of any backend: the layer widths, the activation after every hidden
// Linear, dropout, the loss, and the input transform. Every engine (cpu, js, cuda) builds its list of ops
// from one NetworkSpec, and the weights file records it, so `loadMLP` rebuilds the same network.
//
// Layers: Linear(sizes[0]→sizes[1]) → act → Dropout → Linear → act → Dropout → ... → Linear (logits) → loss.
// Semantics are PyTorch 1.13's (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.GELU(approximate='none'),
// nn.Dropout, nn.CrossEntropyLoss, nn.BCEWithLogitsLoss, nn.MSELoss, nn.L1Loss, reduction='mean').

/** The activation after every hidden Linear. */
export type Activation = 'relu' | 'leaky_relu' | 'tanh' | 'sigmoid' | 'gelu';
export const activations: readonly Activation[] = ['relu', 'leaky_relu', 'tanh', 'sigmoid', 'gelu'];

/**
 * The loss on the logits. cross_entropy takes class indices (Int32Array (N)); the others take float
 * targets (Float32Array (N, K), K = the network's outputs).
 */
export type LossName = 'cross_entropy' | 'bce_with_logits' | 'mse' | 'l1';
export const lossNames: readonly LossName[] = ['cross_entropy', 'bce_with_logits', 'mse', 'l1'];

export interface NetworkSpec {
  /** Layer widths, input first: [784, 500, 10]. */
  sizes: readonly number[];
  /** After every hidden Linear (not after the last). */
  activation: Activation;
  /** leaky_relu's slope for x < 0; default 0.01 (PyTorch's). Ignored by the other activations. */
  negativeSlope: number;
  /** p in [0, 1): nn.Dropout after each hidden activation, training only; 0 = none. */
  dropout: number;
  loss: LossName;
  /** (C) cross_entropy only: PyTorch's `weight=` (a weighted mean over the batch). null = all 1. */
  classWeights: Float32Array | null;
  /** (I) per-feature input transform x' = (x − mean) / std, after uint8 pixels are scaled by 1/255; null = identity. */
  inputMean: Float32Array | null;
  /** (I) see inputMean; both or neither. */
  inputStd: Float32Array | null;
}

/** PyTorch's default slope of nn.LeakyReLU. */
export const DEFAULT_NEGATIVE_SLOPE = 0.01;

/** The reference network's semantics (ReLU, no dropout, cross-entropy, no transform) for these sizes. */
export function defaultNetworkSpec(sizes: readonly number[]): NetworkSpec {
  return {
    sizes: [...sizes],
    activation: 'relu',
    negativeSlope: DEFAULT_NEGATIVE_SLOPE,
    dropout: 0,
    loss: 'cross_entropy',
    classWeights: null,
    inputMean: null,
    inputStd: null,
  };
}

/** Whether the loss takes class indices (Int32Array) rather than float targets. */
export function takesClassIndices(loss: LossName): boolean {
  return loss === 'cross_entropy';
}

/** Number of hidden layers (Linear layers followed by an activation): sizes.length − 2. */
export function hiddenLayerCount(spec: Pick<NetworkSpec, 'sizes'>): number {
  return spec.sizes.length - 2;
}

/** Whether the spec is the reference semantics: what engines without the general op list can run. */
export function isReferenceSemantics(spec: NetworkSpec): boolean {
  return spec.activation === 'relu' && spec.dropout === 0 && spec.loss === 'cross_entropy' &&
    spec.classWeights === null && spec.inputMean === null && spec.inputStd === null;
}

/** What a spec uses beyond the reference semantics, in words, for a backend's refusal. */
export function nonReferenceFeatures(spec: NetworkSpec): string[] {
  const out: string[] = [];
  if (spec.activation !== 'relu') out.push(`activation '${spec.activation}'`);
  if (spec.dropout !== 0) out.push(`dropout ${spec.dropout}`);
  if (spec.loss !== 'cross_entropy') out.push(`loss '${spec.loss}'`);
  if (spec.classWeights !== null) out.push('classWeights');
  if (spec.inputMean !== null || spec.inputStd !== null) out.push('an input transform (inputMean/inputStd)');
  return out;
}

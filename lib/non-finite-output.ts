// Weights that are finite can still overflow float32 in a layer's sums (3e38 · 784 inputs): the logits come out
// ±Infinity or NaN, and a loss or a probability made of them is NaN. This finds the first such output row and the
// first layer whose output is not finite, for an error that says where, instead of "Mean loss NaN".
import { activationForward } from './backends/activations';
import type { MLP } from './model';

/**
 * Throws a RangeError when logits (B, classes) hold a value that is not finite:
 * `fc2's output is not finite (Infinity at row 0); the weights overflow float32`, naming the first layer (by its
 * state_dict name: `the output of layer '2'` for a model read from `0.weight`, `2.weight`) whose
 * output for that row is not finite (found by `firstNonFiniteLayer`). `rowOffset` and `rows` say which rows
 * these are (row numbers count from rowOffset, in `rows`: e.g. "of the evaluation set").
 */
export function checkFiniteLogits(model: MLP, x: Float32Array, logits: Float32Array, rowOffset = 0, rows = ''): void {
  const C = model.classes, I = model.sizes[0];
  for (let i = 0; i < logits.length; i++) {
    if (Number.isFinite(logits[i])) continue;
    const r = Math.floor(i / C);
    const found = firstNonFiniteLayer(model, x.subarray(r * I, (r + 1) * I));
    const layer = found ?? { name: model.layerNames[model.layerNames.length - 1], value: logits[i] };
    throw new RangeError(`${outputOf(layer.name)} is not finite (${layer.value} at row ${rowOffset + r}${rows}); the weights overflow float32`);
  }
}

/** `fc2's output`, or for the names of a model read from a PyTorch file: `the output of layer '2'`. */
function outputOf(layer: string): string {
  if (/^fc\d+$/.test(layer)) return `${layer}'s output`;
  return layer === '' ? "the layer's output" : `the output of layer '${layer}'`;
}

/**
 * The first layer whose output for input row x (sizes[0]) is not finite, and its first such value, computed as the
 * engines do, in float32 (each product and partial sum rounded to float32), with the model's input transform and
 * activation between the layers; null when every output is finite here (a sum whose order of addition decides
 * whether it overflows).
 */
export function firstNonFiniteLayer(model: MLP, x: Float32Array): { name: string; value: number } | null {
  model.syncToHost();
  const { inputMean, inputStd, activation, negativeSlope } = model.spec;
  let input: Float32Array = inputMean && inputStd ? x.map((v, i) => Math.fround(v - inputMean[i]) / inputStd[i]) : x;
  const activate = activationForward[activation];
  const L = model.sizes.length - 1;
  for (let l = 0; l < L; l++) {
    const I = model.sizes[l], O = model.sizes[l + 1];
    const w = model.view(model.layout[2 * l].name), b = model.view(model.layout[2 * l + 1].name); // (O, I), (O)
    const out = new Float32Array(O);
    for (let o = 0; o < O; o++) {
      let sum = b[o];
      for (let i = 0; i < I; i++) sum = Math.fround(sum + Math.fround(w[o * I + i] * input[i]));
      out[o] = l + 1 < L ? activate(sum, negativeSlope) : sum; // a NaN passes every activation
    }
    const bad = out.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) return { name: model.layerNames[l], value: out[bad] };
    input = out;
  }
  return null;
}


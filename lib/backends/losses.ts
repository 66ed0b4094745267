// The losses, last op of the network: each returns the mean loss over the batch and, when asked, writes the
// logits' gradient in the same pass (llm.c's crossentropy_softmax_backward). PyTorch 1.13, reduction='mean':
//   cross_entropy    nn.CrossEntropyLoss(weight=w): Σ_b w[y_b]·(−log softmax(z_b)[y_b]) / Σ_b w[y_b]
//                    (w = 1: the plain mean); gradient w[y_b]·(softmax(z_b) − onehot(y_b)) / Σ_b w[y_b]
//   bce_with_logits  nn.BCEWithLogitsLoss: mean over B·K of max(z,0) − z·t + log1p(exp(−|z|)); gradient (σ(z) − t)/(B·K)
//   mse              nn.MSELoss: mean (z − t)²; gradient 2(z − t)/(B·K)
//   l1               nn.L1Loss: mean |z − t|; gradient sign(z − t)/(B·K), sign(0) = 0
// Dimension letters: B batch, K the network's outputs (C classes for cross_entropy). Sums in double.
import { invalidArgument } from '../check';
import type { LossName } from '../network';
import type { Targets } from './types';

/** Mean loss of logits(B,K) against targets; dlogits(B,K) gets the gradient of that mean when given. */
export type LossFunction = (dlogits: Float32Array | null, logits: Float32Array, targets: Targets, B: number, K: number,
  classWeights: Float32Array | null) => number;

function classIndices(targets: Targets, B: number, C: number): Int32Array {
  if (!(targets instanceof Int32Array)) throw invalidArgument('Int32Array of class indices (cross_entropy)', 'targets', targets);
  // Checked before anything is written, so a bad label leaves dlogits as it was.
  for (let r = 0; r < B; r++) {
    const y = targets[r];
    if (!(y >= 0 && y < C)) throw invalidArgument(`integer between 0 and ${C - 1}`, `labels[${r}]`, y);
  }
  return targets;
}

function floatTargets(targets: Targets, B: number, K: number, loss: LossName): Float32Array {
  if (!(targets instanceof Float32Array) || targets.length < B * K) {
    throw invalidArgument(`Float32Array of at least ${B * K} (B·K) values (${loss})`, 'targets', targets);
  }
  return targets;
}

function crossEntropy(dlogits: Float32Array | null, logits: Float32Array, targets: Targets, B: number, C: number,
  classWeights: Float32Array | null): number {
  // dlogits(B,C), logits(B,C), labels(B), classWeights(C) or null.
  const labels = classIndices(targets, B, C);
  let totalWeight = 0;
  for (let r = 0; r < B; r++) totalWeight += classWeights === null ? 1 : classWeights[labels[r]];
  let lossSum = 0;
  for (let r = 0; r < B; r++) {
    const row = r * C;
    const w = classWeights === null ? 1 : classWeights[labels[r]];
    // log Σ exp(z) = max + log Σ exp(z − max): no overflow for large logits.
    let max = -Infinity;
    for (let j = 0; j < C; j++) if (logits[row + j] > max) max = logits[row + j];
    let sumExp = 0;
    for (let j = 0; j < C; j++) sumExp += Math.exp(logits[row + j] - max);
    lossSum += w * (max + Math.log(sumExp) - logits[row + labels[r]]);
    if (dlogits !== null) {
      const scale = w / (sumExp * totalWeight);
      for (let j = 0; j < C; j++) dlogits[row + j] = Math.exp(logits[row + j] - max) * scale;
      dlogits[row + labels[r]] -= w / totalWeight;
    }
  }
  return lossSum / totalWeight; // all weights 0: NaN, as PyTorch
}

function bceWithLogits(dlogits: Float32Array | null, logits: Float32Array, targets: Targets, B: number, K: number): number {
  const t = floatTargets(targets, B, K, 'bce_with_logits');
  const n = B * K;
  let lossSum = 0;
  for (let k = 0; k < n; k++) {
    const z = logits[k];
    lossSum += Math.max(z, 0) - z * t[k] + Math.log1p(Math.exp(-Math.abs(z)));
    if (dlogits !== null) dlogits[k] = (1 / (1 + Math.exp(-z)) - t[k]) / n;
  }
  return lossSum / n;
}

function mse(dlogits: Float32Array | null, logits: Float32Array, targets: Targets, B: number, K: number): number {
  const t = floatTargets(targets, B, K, 'mse');
  const n = B * K;
  let lossSum = 0;
  for (let k = 0; k < n; k++) {
    const diff = logits[k] - t[k];
    lossSum += diff * diff;
    if (dlogits !== null) dlogits[k] = (2 * diff) / n;
  }
  return lossSum / n;
}

function l1(dlogits: Float32Array | null, logits: Float32Array, targets: Targets, B: number, K: number): number {
  const t = floatTargets(targets, B, K, 'l1');
  const n = B * K;
  let lossSum = 0;
  for (let k = 0; k < n; k++) {
    const diff = logits[k] - t[k];
    lossSum += Math.abs(diff);
    if (dlogits !== null) dlogits[k] = Math.sign(diff) / n; // sign(0) = 0, sign(NaN) = NaN
  }
  return lossSum / n;
}

export const lossFunctions: Record<LossName, LossFunction> = {
  cross_entropy: crossEntropy,
  bce_with_logits: bceWithLogits,
  mse,
  l1,
};

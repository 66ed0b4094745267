// Which class the network picks for every image of a dataset, and the counts and mistakes that follow.
import type { Dataset } from '../data/dataset';
import type { MLP } from '../model';

export interface Classification {
  /** (N) the class with the largest logit, the first on ties (as the engines' argmax). */
  predicted: Int32Array;
  /** (N) the softmax probability the network gives its pick. */
  confidence: Float32Array;
}

const CHUNK = 1000;

/** Runs `model` over all of `data`, scaled to [0, 1] as in training, a chunk of images at a time. */
export function classify(model: MLP, data: Dataset): Classification {
  const C = model.classes;
  const predicted = new Int32Array(data.n);
  const confidence = new Float32Array(data.n);
  const x = new Float32Array(Math.min(CHUNK, data.n) * data.d);
  for (let start = 0; start < data.n; start += CHUNK) {
    const B = Math.min(CHUNK, data.n - start);
    const pixels = data.images.subarray(start * data.d, (start + B) * data.d);
    for (let i = 0; i < pixels.length; i++) x[i] = pixels[i] / 255;
    const logits = model.logits(x.subarray(0, B * data.d), B); // (B, C)
    for (let b = 0; b < B; b++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (logits[b * C + c] > logits[b * C + best]) best = c;
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(logits[b * C + c] - logits[b * C + best]);
      predicted[start + b] = best;
      confidence[start + b] = 1 / sum;
    }
  }
  return { predicted, confidence };
}

/** counts[true][predicted]: (C, C), rows the true class. */
export function confusionMatrix(labels: Int32Array, predicted: Int32Array, classes: number): number[][] {
  const counts = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) counts[labels[i]][predicted[i]]++;
  return counts;
}

export interface Mistake {
  /** The image's index in the dataset. */
  index: number;
  label: number;
  predicted: number;
  confidence: number;
}

/** The first `limit` images the network gets wrong, in the dataset's order, and how many there are in all. */
export function mistakes(labels: Int32Array, { predicted, confidence }: Classification, limit: number): { first: Mistake[]; total: number } {
  const first: Mistake[] = [];
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    if (predicted[i] === labels[i]) continue;
    total++;
    if (first.length < limit) first.push({ index: i, label: labels[i], predicted: predicted[i], confidence: confidence[i] });
  }
  return { first, total };
}

// Metrics of a model's outputs against a dataset's targets: per-class precision, recall and F1 with the
// confusion matrix (scikit-learn's classification_report and confusion_matrix), or MSE and MAE for values.

/** One class's row of the report (scikit-learn's precision_recall_fscore_support, zero_division=0). */
export interface ClassMetrics {
  /** The class's saved name, or its index as a string. */
  name: string;
  precision: number;
  recall: number;
  f1: number;
  /** Samples of this class in the data. */
  support: number;
}

/**
 * The report for predicted classes `predicted` (N) against `labels` (N) of C classes: confusion[t][p] counts
 * samples of true class t predicted as p; a class never predicted (or never present) gets precision (recall) 0,
 * as scikit-learn's zero_division=0.
 */
export function classificationReport(predicted: Int32Array, labels: Int32Array, C: number, names: readonly string[] | null):
  { perClass: ClassMetrics[]; confusion: number[][]; macroF1: number } {
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  for (let i = 0; i < labels.length; i++) confusion[labels[i]][predicted[i]] += 1;
  return reportFromConfusion(confusion, names);
}

/** The report from a confusion matrix (confusion[t][p]: samples of true class t predicted as p). */
export function reportFromConfusion(confusion: number[][], names: readonly string[] | null): { perClass: ClassMetrics[]; confusion: number[][]; macroF1: number } {
  const C = confusion.length;
  const perClass: ClassMetrics[] = [];
  for (let c = 0; c < C; c++) {
    const truePositive = confusion[c][c];
    let predictedAs = 0;
    for (let t = 0; t < C; t++) predictedAs += confusion[t][c];
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const precision = predictedAs ? truePositive / predictedAs : 0;
    const recall = support ? truePositive / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ name: names ? names[c] : String(c), precision, recall, f1, support });
  }
  const macroF1 = perClass.reduce((a, m) => a + m.f1, 0) / C;
  return { perClass, confusion, macroF1 };
}

/** Mean squared and mean absolute error over all N·K values, in float64. */
export function regressionErrors(outputs: Float32Array, targets: Float32Array): { mse: number; mae: number } {
  let squares = 0;
  let absolutes = 0;
  for (let i = 0; i < outputs.length; i++) {
    const e = outputs[i] - targets[i];
    squares += e * e;
    absolutes += Math.abs(e);
  }
  return { mse: squares / outputs.length, mae: absolutes / outputs.length };
}

// What labels that are not class indices most likely are, for the refusal: the near-misses people make when labels
// come from another library or a file (one-hot rows from Keras's to_categorical or TensorFlow.js's tf.oneHot,
// text from a CSV, classes numbered from 1, probabilities). Each hint names the cause and the fix in one sentence.

/** The hint for labels given as one-hot rows: `labels.length` is n·k and each row of k is 0s and one 1. */
export function oneHotHint(labels: ArrayLike<unknown>, n: number): string | undefined {
  if (n < 1 || labels.length % n !== 0 || labels.length === n) return undefined;
  const k = labels.length / n;
  for (let row = 0; row < n; row++) {
    let ones = 0;
    for (let c = 0; c < k; c++) {
      const v = labels[row * k + c];
      if (v === 1) ones++;
      else if (v !== 0) return undefined;
    }
    if (ones !== 1) return undefined;
  }
  return `the labels look one-hot encoded (${n} rows of ${k} zeros and a one, as to_categorical or tf.oneHot make them): pass each row's class index instead (the position of its 1)`;
}

/** The hint for one label that is not a class index, by what it is. */
export function labelHint(value: unknown): string | undefined {
  if (typeof value === 'string') {
    return /^\s*\d+\s*$/.test(value)
      ? 'labels read from a CSV or JSON file are text: convert them with Number(label)'
      : 'class names must be numbered: map each name to its index (0, 1, ...) and keep the list to read predictions back';
  }
  if (typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value) && value > 0 && value < 1) {
    return 'labels are class indices, not probabilities or scores: pass the index of the true class';
  }
  if (typeof value === 'bigint') return 'pass the class index as a number: Number(label)';
  return undefined;
}

/** The hint for labels whose largest is the class count: classes numbered from 1 (MATLAB, R, some CSV files). */
export function numberedFromOneHint(labels: ArrayLike<number>, classes: number): string | undefined {
  let smallest = Infinity, largest = -Infinity;
  for (let i = 0; i < labels.length; i++) {
    smallest = Math.min(smallest, labels[i]);
    largest = Math.max(largest, labels[i]);
  }
  return smallest >= 1 && largest === classes
    ? `the labels run from 1 to ${classes}: class indices start at 0, so subtract 1 from each`
    : undefined;
}

// `fcnet eval MODEL --data table.csv` and `fcnet predict MODEL --data rows.csv`: a saved model on a user's table.
// Columns are picked by the names the model saved (a reordered file gives the same numbers), the classes by
// the saved class names (a class never seen in training is an error naming its line), and the model's saved
// scaler applies, so the table holds raw values.
import { readModelWeights, type ModelWeights } from '../checkpoint';
import { readCsvDataset, type Task } from '../data/csv';
import type { FeatureDataset } from '../data/dataset';
import { readNpyDataset, readNpy } from '../data/npy';
import { MLP } from '../model';
import type { BackendChoice } from '../backends';
import { evaluate } from '../train';
import { UsageError } from './args';

/** The model `weights` describe, with everything its file records (network, scaler, names, layer names). */
export function modelFromWeights(weights: ModelWeights, file: string, backend: BackendChoice, extra: { inputMean?: number[]; inputStd?: number[] } = {}): MLP {
  let model: MLP;
  try {
    model = new MLP({ ...weights.network, activation: weights.activation, ...extra, sizes: weights.sizes, layerNames: weights.layerNames, backend });
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  model.loadStateDict(weights.parameters);
  return model;
}

/** The model in `file` with everything its file records. */
export function loadSavedModel(file: string, backend: BackendChoice): MLP {
  return modelFromWeights(readModelWeights(file), file, backend);
}

function taskOf(model: MLP): Task {
  return model.spec.loss === 'cross_entropy' ? 'classify' : model.spec.loss === 'bce_with_logits' ? 'multilabel' : 'regress';
}

/** Reads the table for `model`: its feature columns by name (when saved) and, when `withTargets`, the target columns. */
async function tableFor(model: MLP, modelFile: string, data: string, target: string | undefined, withTargets: boolean): Promise<FeatureDataset> {
  if (/\.npy$/i.test(data)) {
    if (!withTargets) {
      const x = readNpy(data);
      const d = x.shape.slice(1).reduce((a, b) => a * b, 1);
      return { features: x.data instanceof Uint8Array ? x.data : Float32Array.from(x.data), targets: new Float32Array(0), n: x.shape[0], d, k: 0, source: data, classNames: null, featureNames: null, targetNames: null };
    }
    if (target === undefined) throw new UsageError(`--data ${data}: .npy features need --target TARGETS.npy`);
    return readNpyDataset(data, target, taskOf(model));
  }
  const targets = target?.split(',') ?? (model.targetNames ? [...model.targetNames] : undefined);
  if (withTargets && targets === undefined) throw new UsageError(`${modelFile} records no target column: name it with --target COLUMN`);
  const dataset = await readCsvDataset(data, {
    ...(withTargets && { target: targets }),
    ...(model.featureNames && { features: model.featureNames }),
    ...(withTargets && { task: taskOf(model) }),
    ...(withTargets && model.classNames && { classNames: model.classNames }),
  });
  return dataset; // without saved names (a model made from code), every column not a target is a feature, in the file's order
}

function checkWidth(model: MLP, data: FeatureDataset, modelFile: string): void {
  if (data.d !== model.sizes[0]) {
    throw new Error(`${modelFile} holds a network with ${model.sizes[0]} inputs but ${data.source} has ${data.d} feature columns`);
  }
}

/** Prints the model's metrics on a table: accuracy, per-class precision/recall/F1 and the confusion matrix, or MSE/MAE. */
export async function evalTable(modelFile: string, o: Record<string, unknown>, backend: BackendChoice): Promise<void> {
  const model = loadSavedModel(modelFile, backend);
  const data = await tableFor(model, modelFile, o.data as string, o.target as string | undefined, true);
  checkWidth(model, data, modelFile);
  const e = evaluate(model, data);
  if (o.json) {
    const classes = e.perClass && { perClass: e.perClass, confusion: e.confusion };
    console.log(JSON.stringify({ n: e.n, loss: e.loss, ...(Number.isFinite(e.accuracy) && { accuracy: e.accuracy }), ...(Number.isFinite(e.mse) && { mse: e.mse, mae: e.mae }), ...classes }));
    return;
  }
  console.error(`fcnet: evaluating ${model.sizes.join('-')} from ${modelFile} on ${model.backend}: ${data.n} rows of ${data.source}`);
  if (Number.isFinite(e.accuracy)) console.log(`Accuracy on the ${e.n} rows: ${(100 * e.accuracy).toFixed(2)} % (${e.correct} of ${e.n})`);
  console.log(`Mean loss (${model.spec.loss}): ${e.loss.toFixed(4)}`);
  if (Number.isFinite(e.mse) && model.spec.loss !== 'bce_with_logits') console.log(`MSE: ${e.mse.toPrecision(6)}  MAE: ${e.mae.toPrecision(6)}`);
  if (e.perClass && e.confusion) {
    const width = Math.max(5, ...e.perClass.map((c) => c.name.length));
    console.log(`\n${'class'.padEnd(width)}  precision  recall     f1  support`);
    for (const c of e.perClass) {
      console.log(`${c.name.padEnd(width)}  ${c.precision.toFixed(4).padStart(9)}  ${c.recall.toFixed(4).padStart(6)}  ${c.f1.toFixed(4).padStart(5)}  ${String(c.support).padStart(7)}`);
    }
    console.log(`\nconfusion matrix (rows: true class, columns: predicted, in the order above)`);
    const cell = Math.max(3, ...e.confusion.flat().map((v) => String(v).length));
    for (const [i, row] of e.confusion.entries()) console.log(`${e.perClass[i].name.padEnd(width)}  ${row.map((v) => String(v).padStart(cell)).join(' ')}`);
  }
}

/** CSV quoting for one output cell (RFC 4180). */
const csvCell = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/**
 * Writes one prediction per row as CSV to stdout: for classes `prediction` (the saved name, or index) and one
 * probability column per class; for values one column per target; for multi-label one 0/1 column per target.
 */
export async function predictTable(modelFile: string, o: Record<string, unknown>, backend: BackendChoice): Promise<void> {
  const model = loadSavedModel(modelFile, backend);
  const data = await tableFor(model, modelFile, o.data as string, undefined, false);
  checkWidth(model, data, modelFile);
  const p = model.predict(data.features);
  const K = model.classes;
  const lines: string[] = [];
  const targetNames = model.targetNames ?? Array.from({ length: K }, (_, k) => `output_${k}`);
  if (model.spec.loss === 'cross_entropy') {
    const names = model.classNames ?? Array.from({ length: K }, (_, k) => String(k));
    lines.push(['prediction', ...names.map((n) => `p_${n}`)].map(csvCell).join(','));
    for (let r = 0; r < data.n; r++) {
      const row = p.subarray(r * K, (r + 1) * K);
      let best = 0;
      for (let k = 1; k < K; k++) if (row[k] > row[best]) best = k;
      lines.push([csvCell(names[best]), ...Array.from(row, (v) => String(v))].join(','));
    }
  } else {
    lines.push(targetNames.map(csvCell).join(','));
    const threshold = model.spec.loss === 'bce_with_logits';
    for (let r = 0; r < data.n; r++) lines.push(Array.from(p.subarray(r * K, (r + 1) * K), (v) => (threshold ? (v >= 0.5 ? '1' : '0') : String(v))).join(','));
  }
  console.log(lines.join('\n'));
}

// Tables from CSV files, streamed (a large file never sits in one string): csv-parse (the `csv` project's
// parser, RFC 4180 quoting, kept by its authors since 2010) over fs.createReadStream. The first row names the
// columns; the target column(s) are chosen by name, every other column is a feature unless ignored (IDs), and a
// model's saved feature names pick the columns by name, so a reordered file gives the same numbers.
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { sortedClassNames, type FeatureDataset } from './dataset';

/** What the targets are: class names (cross_entropy), 0/1 per column (bce_with_logits), values (mse). */
export type Task = 'classify' | 'regress' | 'multilabel';
export const tasks: readonly Task[] = ['classify', 'regress', 'multilabel'];

export interface CsvOptions {
  /** The target column(s), by name. None: a table of features only (for predict); targets are then empty. */
  target?: string | readonly string[];
  /** Columns that are neither features nor targets (IDs, free text). */
  ignore?: readonly string[];
  /** The feature columns, in this order (a model's featureNames); columns not named are left out. Default: every other column. */
  features?: readonly string[];
  /**
   * Default: inferred from the target cells as scikit-learn's type_of_target: several columns of only 0 and 1 →
   * 'multilabel'; numbers with a fractional part → 'regress'; anything else (names, integers) → 'classify'.
   */
  task?: Task;
  /** The classes in index order (a model's classNames): a class not among them is an error naming its row. */
  classNames?: readonly string[];
}

/** A cell as a finite number, or null: decimal notation only (no empty cell, no 'NaN', no hex). */
function parseNumber(cell: string): number | null {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cell)) return null;
  const x = Number(cell);
  return Number.isFinite(x) && Math.abs(x) <= 3.4028234663852886e38 ? x : null;
}

/** Values appended one by one into blocks of 1 Mi floats, joined once at the end: at most twice the values' size. */
class FloatRows {
  private readonly blocks: Float32Array[] = [];
  private block = new Float32Array(1 << 20);
  private used = 0;
  length = 0;
  push(x: number): void {
    if (this.used === this.block.length) {
      this.blocks.push(this.block);
      this.block = new Float32Array(1 << 20);
      this.used = 0;
    }
    this.block[this.used++] = x;
    this.length++;
  }
  take(): Float32Array {
    const out = new Float32Array(this.length);
    let at = 0;
    for (const b of this.blocks) {
      out.set(b, at);
      at += b.length;
    }
    out.set(this.block.subarray(0, this.used), at);
    return out;
  }
}

/**
 * A dataset from a CSV file with a header row. Every cell of a feature column must be a number (decimal
 * notation); anything else is an error naming the file, line and column that says to encode categories first.
 * A ragged row, a missing column, an unseen class: errors naming file and line, before any training.
 * The dataset's featureNames and targetNames are the columns' names; its classNames the classes found
 * (sorted, integers numerically) or `classNames`.
 */
export async function readCsvDataset(file: string, options: CsvOptions = {}): Promise<FeatureDataset & { task: Task | null }> {
  const targetColumns = options.target === undefined ? [] : typeof options.target === 'string' ? [options.target] : [...options.target];
  const ignore = new Set(options.ignore ?? []);
  // pipeline, not pipe: a read error (no such file) reaches the parser, and leaving the loop early closes the file.
  const parser = pipeline(createReadStream(file), parse({ info: true, trim: true, skip_empty_lines: true, bom: true }), () => {});
  let header: string[] | null = null;
  let featureIndex: number[] = [];
  let targetIndex: number[] = [];
  const features = new FloatRows();
  const targetCells: string[] = [];
  const targetLines: number[] = [];
  let n = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (header === null) {
        header = record;
        const column = (name: string, role: string): number => {
          const i = record.indexOf(name);
          if (i < 0) throw new Error(`${file}: no column '${name}' (${role}); the header has ${record.slice(0, 12).map((c) => `'${c}'`).join(', ')}${record.length > 12 ? ', ...' : ''}`);
          return i;
        };
        const duplicate = record.find((c, i) => record.indexOf(c) !== i);
        if (duplicate !== undefined) throw new Error(`${file}: the header names column '${duplicate}' twice`);
        for (const name of ignore) column(name, 'to ignore');
        targetIndex = targetColumns.map((name) => column(name, 'the target'));
        featureIndex = options.features
          ? options.features.map((name) => column(name, "one of the model's features"))
          : record.map((_, i) => i).filter((i) => !targetIndex.includes(i) && !ignore.has(record[i]));
        if (featureIndex.length === 0) throw new Error(`${file}: no feature columns left (every column is a target or ignored)`);
        continue;
      }
      for (const i of featureIndex) {
        const x = parseNumber(record[i]);
        if (x === null) {
          const cell = record[i];
          throw new Error(cell === ''
            ? `${file}: line ${info.lines}, column '${header[i]}' is empty; fill in or drop missing values first`
            : `${file}: line ${info.lines}, column '${header[i]}': '${cell.slice(0, 40)}' is not a number; encode categories as numbers first (one 0/1 column per category), or --ignore the column`);
        }
        features.push(x);
      }
      for (const i of targetIndex) {
        if (record[i] === '') throw new Error(`${file}: line ${info.lines}, target column '${header[i]}' is empty`);
        targetCells.push(record[i]);
      }
      targetLines.push(info.lines);
      n++;
    }
  } catch (error) {
    const message = (error as Error).message;
    if ((error as { code?: string }).code === 'ENOENT') throw new Error(`Cannot read ${file}: no such file`);
    throw message.startsWith(file) ? error : new Error(`${file}: ${message}`);
  }
  if (header === null || n === 0) throw new Error(`${file}: no rows under the header`);
  const d = featureIndex.length;
  const featureNames = Object.freeze(featureIndex.map((i) => header![i]));
  const base = { features: features.take(), n, d, source: file, featureNames };
  if (targetIndex.length === 0) {
    return { ...base, targets: new Float32Array(0), k: 0, classNames: null, targetNames: null, task: null };
  }
  const targetNames = Object.freeze(targetIndex.map((i) => header![i]));
  const K = targetIndex.length;
  const task = options.task ?? inferTask(targetCells, K);
  const where = (j: number): string => `${file}: line ${targetLines[Math.floor(j / K)]}, column '${targetNames[j % K]}'`;
  if (task === 'classify') {
    if (K !== 1) throw new Error(`${file}: task 'classify' takes one target column, not ${K} (several 0/1 columns: 'multilabel')`);
    const classNames = options.classNames ? Object.freeze([...options.classNames]) : Object.freeze(sortedClassNames(targetCells));
    const index = new Map(classNames.map((c, i) => [c, i]));
    const labels = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      const y = index.get(targetCells[j]);
      if (y === undefined) throw new Error(`${where(j)}: class '${targetCells[j].slice(0, 40)}' is not one of the model's ${classNames.length} classes (${classNames.slice(0, 8).join(', ')}${classNames.length > 8 ? ', ...' : ''})`);
      labels[j] = y;
    }
    return { ...base, targets: labels, k: 1, classNames, targetNames, task };
  }
  const values = new Float32Array(n * K);
  for (let j = 0; j < n * K; j++) {
    const y = parseNumber(targetCells[j]);
    if (y === null) throw new Error(`${where(j)}: '${targetCells[j].slice(0, 40)}' is not a number, which task '${task}' needs`);
    if (task === 'multilabel' && y !== 0 && y !== 1) throw new Error(`${where(j)}: ${targetCells[j]} is not 0 or 1, which task 'multilabel' needs`);
    values[j] = y;
  }
  return { ...base, targets: values, k: K, classNames: null, targetNames, task };
}

/** scikit-learn's type_of_target, reduced to the three tasks. */
function inferTask(cells: readonly string[], K: number): Task {
  const numbers = cells.map(parseNumber);
  const allNumbers = numbers.every((x) => x !== null);
  if (K > 1) return allNumbers && numbers.every((x) => x === 0 || x === 1) ? 'multilabel' : 'regress';
  return allNumbers && numbers.some((x) => !Number.isInteger(x)) ? 'regress' : 'classify';
}

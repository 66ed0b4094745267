// Tables from CSV files, streamed (a large file never sits in one string): csv-parse (the `csv` project's
// parser, RFC 4180 quoting, kept by its authors since 2010) over fs.createReadStream. The first row names the
// columns; the target column(s) are chosen by name, every other column is a feature unless ignored (IDs), and a
// model's saved feature names pick the columns by name, so a reordered file gives the same numbers.
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { formatItems, quote } from '../io/bounded-text';
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

const FLOAT32_MAX = 3.4028234663852886e38;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i); // exact in float64

/**
 * A cell as a finite number, or null: decimal notation only (no empty cell, no 'NaN', no hex); blanks around it
 * are allowed. Nearly every cell is [+-]digits[.digits] with at most 15 digits: that is read here, digit by digit,
 * as an integer below 2^53 divided by an exact power of ten, which IEEE division rounds correctly, so the value is
 * Number()'s to the bit (Clinger's fast path, "How to read floating point numbers accurately", PLDI 1990), at a
 * fraction of Number()'s cost. Anything else goes through the pattern and Number().
 */
function parseNumber(cell: string): number | null {
  const length = cell.length;
  let i = 0;
  let c = cell.charCodeAt(0);
  const negative = c === 45;
  if (negative || c === 43) i = 1;
  let mantissa = 0, digits = 0, decimals = 0, dot = false;
  for (; i < length; i++) {
    c = cell.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (dot) decimals++;
    } else if (c === 46 && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (i === length && digits > 0 && digits <= 15) {
    const x = mantissa / POWERS_OF_TEN[decimals];
    return negative ? -x : x;
  }
  const t = cell.trim();
  if (!DECIMAL.test(t)) return null;
  const x = Number(t);
  return Number.isFinite(x) && Math.abs(x) <= FLOAT32_MAX ? x : null;
}

/**
 * An upper bound of the file's records: its line feeds + 1. One quick pass over the bytes, so that the values
 * go straight into one array of their final size (no blocks joined at the end: twice the memory).
 */
async function countLines(file: string): Promise<number> {
  let lines = 1;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
  }
  return lines;
}

/** More distinct target cells than this cannot be classes (and are not kept as text). */
const MAX_DISTINCT_TARGETS = 1 << 16;

/**
 * The target cells, without a string kept per cell: each cell's number (NaN when it is not one) and the index of
 * its text among the distinct texts (up to MAX_DISTINCT_TARGETS of them; -1 past that).
 */
class TargetCells {
  readonly values: Float64Array;
  readonly ids: Int32Array;
  readonly distinct: string[] = [];
  private readonly index = new Map<string, number>();
  length = 0;
  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
    this.ids = new Int32Array(capacity);
  }
  push(cell: string): void {
    this.values[this.length] = parseNumber(cell) ?? NaN;
    let id = this.index.get(cell);
    if (id === undefined) {
      id = this.distinct.length < MAX_DISTINCT_TARGETS ? this.distinct.length : -1;
      if (id >= 0) {
        this.index.set(cell, id);
        this.distinct.push(cell);
      }
    }
    this.ids[this.length++] = id;
  }
}

/**
 * The parser's options: arrays of strings per record (no objects, no casts). Blanks around cells are dropped by
 * parseNumber and for names and targets, which costs far less than csv-parse's `trim` (about 30 % of its time);
 * a file with blanks around a quoted cell, which the parser refuses without `trim`, is read again with it.
 */
const parseOptions = (trim: boolean) => ({ skip_empty_lines: true, bom: true, trim });
const BLANKS_AROUND_QUOTES = ['INVALID_OPENING_QUOTE', 'CSV_INVALID_CLOSING_QUOTE']; // csv-parse's codes

/** Thrown by a pass without `trim` on blanks around a quoted cell: the file is read again with it. */
class TrimNeeded extends Error {}

/** The line (1-based, as csv-parse counts) where record `index` ends (0: the header): read again, for an error's message. */
async function lineOf(file: string, index: number, trim: boolean): Promise<number> {
  const parser = pipeline(createReadStream(file), parse({ ...parseOptions(trim), info: true }), () => {});
  let r = 0;
  for await (const { info } of parser as AsyncIterable<{ info: { lines: number } }>) {
    if (r++ === index) return info.lines;
  }
  return NaN;
}

/**
 * A dataset from a CSV file with a header row. Every cell of a feature column must be a number (decimal
 * notation); anything else is an error naming the file, line and column that says to encode categories first.
 * A ragged row, a missing column, an unseen class: errors naming file and line, before any training.
 * The dataset's featureNames and targetNames are the columns' names; its classNames the classes found
 * (sorted, integers numerically) or `classNames`.
 *
 * Streamed through csv-parse (records as arrays, no casts); the features go into one Float32Array sized by a
 * first pass that counts the lines, so the memory held is about the float32 values' size, not the text's.
 */
export async function readCsvDataset(file: string, options: CsvOptions = {}): Promise<FeatureDataset & { task: Task | null }> {
  try {
    return await readCsv(file, options, false);
  } catch (error) {
    if (error instanceof TrimNeeded) return readCsv(file, options, true);
    throw error;
  }
}

async function readCsv(file: string, options: CsvOptions, trim: boolean): Promise<FeatureDataset & { task: Task | null }> {
  const targetColumns = options.target === undefined ? [] : typeof options.target === 'string' ? [options.target] : [...options.target];
  const ignore = new Set(options.ignore ?? []);
  let capacity: number;
  try {
    capacity = await countLines(file);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') throw new Error(`Cannot read ${file}: no such file`);
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  // pipeline, not pipe: a read error reaches the parser, and leaving the loop early closes the file.
  const parser = pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), parse(parseOptions(trim)), () => {});
  let header: string[] | null = null;
  let featureIndex: number[] = [];
  let targetIndex: number[] = [];
  let features = new Float32Array(0);
  let targets = new TargetCells(0);
  let n = 0;
  // A bad cell found in the loop: its message once its line is known (the parser does not count lines, for speed).
  let bad: { row: number; message: (line: number) => string } | null = null;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (header === null) {
        header = record.map((name) => name.trim());
        const names = header;
        const column = (name: string, role: string): number => {
          const i = names.indexOf(name);
          if (i < 0) throw new Error(`${file}: no column '${name}' (${role})${closestColumn(name, names)}; the header has ${columnList(names)}`);
          return i;
        };
        const duplicate = names.find((c, i) => names.indexOf(c) !== i);
        if (duplicate !== undefined) throw new Error(`${file}: the header names column '${duplicate}' twice`);
        for (const name of ignore) column(name, 'to ignore');
        targetIndex = targetColumns.map((name) => column(name, 'the target'));
        featureIndex = options.features
          ? options.features.map((name) => column(name, "one of the model's features"))
          : names.map((_, i) => i).filter((i) => !targetIndex.includes(i) && !ignore.has(names[i]));
        if (featureIndex.length === 0) throw new Error(`${file}: no feature columns left (every column is a target or ignored)`);
        features = new Float32Array(capacity * featureIndex.length);
        targets = new TargetCells(capacity * targetIndex.length);
        continue;
      }
      let at = n * featureIndex.length;
      for (const i of featureIndex) {
        const x = parseNumber(record[i]);
        if (x === null) {
          const cell = record[i].trim(), name = header[i];
          bad = {
            row: n,
            message: (line) => (cell === ''
              ? `${file}: line ${line}, column '${name}' is empty; fill in or drop missing values first`
              : `${file}: line ${line}, column '${name}': '${cell.slice(0, 40)}' is not a number; encode categories as numbers first (one 0/1 column per category), or --ignore the column`),
          };
          break;
        }
        features[at++] = x;
      }
      if (bad) break;
      for (const i of targetIndex) {
        const cell = record[i].trim();
        if (cell === '') {
          const name = header[i];
          bad = { row: n, message: (line) => `${file}: line ${line}, target column '${name}' is empty` };
          break;
        }
        targets.push(cell);
      }
      if (bad) break;
      n++;
    }
  } catch (error) {
    const message = (error as Error).message;
    const code = (error as { code?: string }).code;
    if (!trim && code !== undefined && BLANKS_AROUND_QUOTES.includes(code)) throw new TrimNeeded(message);
    if (code === 'ENOENT') throw new Error(`Cannot read ${file}: no such file`);
    throw message.startsWith(file) ? error : new Error(`${file}: ${message}`);
  }
  const lineOfRow = (row: number): Promise<number> => lineOf(file, row + 1, trim);
  if (bad) throw new Error(bad.message(await lineOfRow(bad.row)));
  if (header === null || n === 0) throw new Error(`${file}: no rows under the header`);
  const d = featureIndex.length;
  const featureNames = Object.freeze(featureIndex.map((i) => header![i]));
  // The lines counted are at least the rows + the header; a view of the rows (no copy) unless many were not rows.
  const used = n * d;
  const base = { features: used >= features.length - 8 * d ? features.subarray(0, used) : features.slice(0, used), n, d, source: file, featureNames };
  if (targetIndex.length === 0) {
    return { ...base, targets: new Float32Array(0), k: 0, classNames: null, targetNames: null, task: null };
  }
  const targetNames = Object.freeze(targetIndex.map((i) => header![i]));
  const K = targetIndex.length;
  const task = options.task ?? inferTask(targets.values.subarray(0, n * K), K);
  const where = async (j: number): Promise<string> => `${file}: line ${await lineOfRow(Math.floor(j / K))}, column '${targetNames[j % K]}'`;
  /** Cell j's text: kept among the distinct ones, else read again from the file. */
  const text = async (j: number): Promise<string> => {
    const id = targets.ids[j];
    return id >= 0 ? targets.distinct[id] : (await cellAt(file, Math.floor(j / K) + 1, targetIndex[j % K], trim)).trim();
  };
  if (task === 'classify') {
    if (K !== 1) throw new Error(`${file}: task 'classify' takes one target column, not ${K} (several 0/1 columns: 'multilabel')`);
    const overflow = targets.ids.subarray(0, n).indexOf(-1);
    if (overflow >= 0) throw new Error(`${await where(overflow)}: more than ${MAX_DISTINCT_TARGETS} distinct target values, too many for classes (numbers to predict: task 'regress')`);
    const classNames = options.classNames ? Object.freeze([...options.classNames]) : Object.freeze(sortedClassNames(targets.distinct));
    const index = new Map(classNames.map((c, i) => [c, i]));
    const classOf = targets.distinct.map((name) => index.get(name) ?? -1);
    const labels = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      const y = classOf[targets.ids[j]];
      if (y < 0) {
        const cell = targets.distinct[targets.ids[j]];
        throw new Error(`${await where(j)}: class '${cell.slice(0, 40)}' is not one of the model's ${classNames.length} classes (${classNames.slice(0, 8).join(', ')}${classNames.length > 8 ? ', ...' : ''})`);
      }
      labels[j] = y;
    }
    return { ...base, targets: labels, k: 1, classNames, targetNames, task };
  }
  const values = new Float32Array(n * K);
  for (let j = 0; j < n * K; j++) {
    const y = targets.values[j];
    if (y !== y) throw new Error(`${await where(j)}: '${(await text(j)).slice(0, 40)}' is not a number, which task '${task}' needs`);
    if (task === 'multilabel' && y !== 0 && y !== 1) throw new Error(`${await where(j)}: ${await text(j)} is not 0 or 1, which task 'multilabel' needs`);
    values[j] = y;
  }
  return { ...base, targets: values, k: K, classNames: null, targetNames, task };
}

/** Cell `column` of record `index` (0: the header), read again: for an error's message. */
async function cellAt(file: string, index: number, column: number, trim: boolean): Promise<string> {
  const parser = pipeline(createReadStream(file), parse(parseOptions(trim)), () => {});
  let r = 0;
  for await (const record of parser as AsyncIterable<string[]>) {
    if (r++ === index) return record[column] ?? '';
  }
  return '';
}

/** scikit-learn's type_of_target, reduced to the three tasks, on the cells' numbers (NaN: not a number). */
function inferTask(numbers: Float64Array, K: number): Task {
  let allNumbers = true, binary = true, integers = true;
  for (const x of numbers) {
    if (x !== x) allNumbers = false;
    else {
      if (x !== 0 && x !== 1) binary = false;
      if (!Number.isInteger(x)) integers = false;
    }
  }
  if (K > 1) return allNumbers && binary ? 'multilabel' : 'regress';
  return allNumbers && !integers ? 'regress' : 'classify';
}

/** " (did you mean 'x'?)" for a name that differs from a column only in case, or is a prefix of exactly one. */
function closestColumn(name: string, names: string[]): string {
  const lower = name.toLowerCase();
  const same = names.find((c) => c.toLowerCase() === lower) ?? (names.filter((c) => c.toLowerCase().startsWith(lower)).length === 1 ? names.find((c) => c.toLowerCase().startsWith(lower)) : undefined);
  return same === undefined ? '' : ` (did you mean '${same}'?)`;
}

/** The header's columns for an error message: all of up to 40 (each clipped), else the first 40 and a count. */
function columnList(names: string[]): string {
  return formatItems(names, quote, 40);
}

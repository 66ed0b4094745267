// A .npy features file larger than memory, trained on from disk: the header is read and checked up front, the
// targets (N or N·K values: small) are held in memory, and fit() reads each batch's rows with positioned reads
// in the shuffled order into a window of one batch, so training gives the same bits as the array in memory
// while the process holds one batch of features. cpu and js only: the cuda engine uploads a whole dataset.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createFeatureDataset, type FeatureDataset } from './dataset';
import { decodeNpyValues, parseNpyHeader, readNpy, type Descr } from './npy';
import type { Task } from './csv';

/** Features in a .npy file on disk (N, D), targets in memory. */
export interface NpyFileDataset {
  readonly kind: 'npy-file';
  /** The features file. */
  readonly file: string;
  readonly descr: Descr;
  /** Byte offset of the first row. */
  readonly offset: number;
  /** Bytes per value. */
  readonly itemSize: number;
  readonly n: number;
  readonly d: number;
  /** (N) class indices or (N, K) float targets, as createFeatureDataset makes them. */
  readonly targets: Int32Array | Float32Array;
  readonly k: number;
  readonly source: string;
  readonly classNames: readonly string[] | null;
  readonly featureNames: null;
  readonly targetNames: null;
}

export function isNpyFileDataset(data: unknown): data is NpyFileDataset {
  return typeof data === 'object' && data !== null && (data as NpyFileDataset).kind === 'npy-file';
}

/**
 * Opens features (N, ...) in `featuresFile` for training from disk, with targets from `targetsFile` (read whole:
 * integers → class indices, floats → values; `task` overrides, as readNpyDataset). Only the header is read
 * now; every value is checked as its batch is read (a NaN stops training naming its row).
 */
export function openNpyFileDataset(featuresFile: string, targetsFile: string, task?: Task): NpyFileDataset {
  let fd: number;
  try {
    fd = openSync(featuresFile, 'r');
  } catch (error) {
    throw new Error(`Cannot read ${featuresFile}: ${(error as Error).message}`);
  }
  try {
    const size = fstatSync(fd).size;
    const head = new Uint8Array(Math.min(size, 12 + 10000));
    readSync(fd, head, 0, head.length, 0);
    const { descr, shape, offset, itemSize } = parseNpyHeader(head, size, featuresFile);
    if (shape.length < 2) throw new Error(`${featuresFile}: features of shape (${shape.join(', ')}); expected (N, D) or (N, ...)`);
    const n = shape[0];
    const d = shape.slice(1).reduce((a, b) => a * b, 1);
    const y = readNpy(targetsFile);
    if (y.shape.length < 1 || y.shape.length > 2 || y.shape[0] !== n) {
      throw new Error(`${targetsFile}: targets of shape (${y.shape.join(', ')}); expected (${n}) or (${n}, K) to go with ${featuresFile}`);
    }
    const integers = y.descr !== '<f4' && y.descr !== '<f8';
    const classes = (task ?? (integers && y.shape.length === 1 ? 'classify' : 'regress')) === 'classify';
    // createFeatureDataset checks the targets; one placeholder feature per sample keeps it from holding the features.
    const checked: FeatureDataset = createFeatureDataset(new Float32Array(n), classes ? Array.from(y.data) : Float32Array.from(y.data), 1, { source: targetsFile });
    return { kind: 'npy-file', file: featuresFile, descr, offset, itemSize, n, d, targets: checked.targets, k: checked.k, source: featuresFile, classNames: null, featureNames: null, targetNames: null };
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads rows of a NpyFileDataset into a window dataset of `capacity` rows (features as the array in memory would
 * hold them: uint8 pixels, else float32), with positioned reads.
 */
export class NpyRowReader {
  private fd: number | null;
  private readonly rowBytes: number;
  private readonly bytes: Uint8Array; // (capacity, D · itemSize)
  /** The window: rows [0, B) hold the last rows read, their targets beside them. */
  readonly window: FeatureDataset;

  constructor(private readonly data: NpyFileDataset, capacity: number) {
    this.fd = openSync(data.file, 'r');
    this.rowBytes = data.d * data.itemSize;
    this.bytes = new Uint8Array(capacity * this.rowBytes);
    const features = data.descr === '|u1' || data.descr === '<u1' ? new Uint8Array(capacity * data.d) : new Float32Array(capacity * data.d);
    const targets = data.targets instanceof Int32Array ? new Int32Array(capacity) : new Float32Array(capacity * data.k);
    this.window = { features, targets, n: capacity, d: data.d, k: data.k, source: data.source, classNames: data.classNames, featureNames: null, targetNames: null };
  }

  /** Rows rows[first .. first+B) of the file into window rows [0, B). */
  read(rows: Int32Array, first: number, B: number): void {
    if (this.fd === null) throw new Error(`${this.data.file}: the reader is closed`);
    const { d, k, n } = this.data;
    for (let r = 0; r < B; r++) {
      const row = rows[first + r];
      if (!(row >= 0 && row < n)) throw new RangeError(`${this.data.file}: row ${row} is outside its ${n} rows`);
      const got = readSync(this.fd, this.bytes, r * this.rowBytes, this.rowBytes, this.data.offset + row * this.rowBytes);
      if (got !== this.rowBytes) throw new Error(`${this.data.file}: row ${row} could not be read whole (${got} of ${this.rowBytes} bytes): the file changed?`);
      const values = this.window.features.subarray(r * d, (r + 1) * d);
      decodeNpyValues(values, this.bytes.subarray(r * this.rowBytes, (r + 1) * this.rowBytes), this.data.descr, d, this.data.file, row * d);
      if (values instanceof Float32Array) {
        const bad = values.findIndex((x) => !Number.isFinite(x));
        if (bad >= 0) throw new RangeError(`${this.data.file}: row ${row}, feature ${bad} is ${values[bad]}; features must be finite`);
      }
      if (this.window.targets instanceof Int32Array) this.window.targets[r] = this.data.targets[row];
      else this.window.targets.set(this.data.targets.subarray(row * k, (row + 1) * k), r * k);
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

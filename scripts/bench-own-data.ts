// The readers' speed and memory (issue 14's targets): writes a CSV and a .npy of about --mb megabytes (default
// 1000) of float features, then, each in a fresh child process, reads the CSV (readCsvDataset: csv-parse,
// streamed), reads the .npy whole (readNpyDataset), and trains one epoch from the .npy on disk
// (openNpyFileDataset), printing MB/s and the child's peak RSS (process.resourceUsage().maxRSS).
// Run: npm run build && node dist/scripts/bench-own-data.js [--mb 1000] [--dir /tmp]; --npy-mb 1500: the .npy readers only
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const D = 64;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Writes rows of D features and a class label until the CSV has about `bytes` bytes; returns the row count. */
function writeCsv(file: string, bytes: number): number {
  const fd = openSync(file, 'w');
  writeSync(fd, Array.from({ length: D }, (_, i) => `f${i}`).join(',') + ',label\n');
  let written = 0, rows = 0, seed = 1;
  const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  while (written < bytes) {
    const lines: string[] = [];
    for (let r = 0; r < 10000; r++, rows++) {
      const cells = Array.from({ length: D }, () => (rand() * 20 - 10).toFixed(4));
      lines.push(cells.join(',') + `,${rows % 10}`);
    }
    const text = lines.join('\n') + '\n';
    writeSync(fd, text);
    written += Buffer.byteLength(text);
  }
  closeSync(fd);
  return rows;
}

/** numpy.save's layout: features (N, D) float32 and labels (N) int32. */
function writeNpy(xFile: string, yFile: string, n: number): void {
  const header = (descr: string, shape: string): Buffer => {
    let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
    h += ' '.repeat(64 - ((10 + h.length + 1) % 64)) + '\n';
    const head = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    head.writeUInt16LE(h.length, 8);
    return Buffer.concat([head, Buffer.from(h, 'latin1')]);
  };
  const fd = openSync(xFile, 'w');
  writeSync(fd, header('<f4', `(${n}, ${D})`));
  const rows = 16384;
  const block = new Float32Array(rows * D);
  for (let first = 0; first < n; first += rows) {
    const count = Math.min(rows, n - first);
    for (let i = 0; i < count * D; i++) block[i] = Math.sin((first * D + i) * 0.001) * 10;
    writeSync(fd, new Uint8Array(block.buffer, 0, count * D * 4));
  }
  closeSync(fd);
  const fy = openSync(yFile, 'w');
  writeSync(fy, header('<i4', `(${n},)`));
  writeSync(fy, new Uint8Array(Int32Array.from({ length: n }, (_, i) => i % 10).buffer));
  closeSync(fy);
}

const CHILD = `
const f = require(${JSON.stringify(join(__dirname, '..', 'lib'))});
(async () => {
  const [what, a, b] = process.argv.slice(1);
  const started = performance.now();
  let rows;
  if (what === 'csv') rows = (await f.readCsvDataset(a, { target: 'label' })).n;
  if (what === 'npy') rows = f.readNpyDataset(a, b).n;
  if (what === 'disk') {
    const data = f.openNpyFileDataset(a, b);
    const model = new f.MLP({ sizes: [data.d, 32, 10], input: 'features', threads: 1 });
    await f.fit(model, new f.Adam(model), data, { epochs: 1, batchSize: 256 });
    rows = data.n;
  }
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, rows, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
})();
`;

function measure(what: string, ...files: string[]): { seconds: number; rows: number; maxRssMB: number } {
  return JSON.parse(execFileSync(process.execPath, ['-e', CHILD, what, ...files], { encoding: 'utf8', maxBuffer: 1 << 20 }));
}

function main(): void {
  const mb = Number(arg('mb', '1000'));
  // --npy-mb M: only the .npy readers, on a features file of about M MB (no CSV written or read).
  const npyMb = arg('npy-mb', '');
  const dir = mkdtempSync(join(arg('dir', tmpdir()), 'fcnet-bench-data-'));
  try {
    const csv = join(dir, 'table.csv'), x = join(dir, 'x.npy'), y = join(dir, 'y.npy');
    const rows = npyMb ? Math.round((Number(npyMb) * 1e6) / (4 * D)) : writeCsv(csv, mb * 1e6);
    writeNpy(x, y, rows);
    const size = (f: string): number => statSync(f).size / 1e6;
    console.log(`${rows} rows of ${D} features: ${npyMb ? '' : `CSV ${size(csv).toFixed(0)} MB, `}.npy ${size(x).toFixed(0)} MB (float32)`);
    for (const [what, label, files, bytes] of [
      ...(npyMb ? [] : [['csv', 'readCsvDataset (csv-parse, streamed)', [csv], size(csv)] as const]),
      ['npy', 'readNpyDataset (whole file)', [x, y], size(x)],
      ['disk', 'fit 1 epoch from the .npy on disk (openNpyFileDataset, 32 hidden, batches of 256)', [x, y], size(x)],
    ] as const) {
      const r = measure(what, ...files);
      console.log(`${label}: ${r.seconds.toFixed(2)} s, ${(bytes / r.seconds).toFixed(1)} MB/s, peak RSS ${r.maxRssMB.toFixed(0)} MB`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();

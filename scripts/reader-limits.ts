// `node dist/scripts/reader-limits.js`: the costliest input each file reader accepts under its default limits, and
// the hostile cases found on af01466, each read in a fresh process; prints the time and the peak RSS of each read,
// the figures docs/reliability.md gives. `node dist/scripts/reader-limits.js CASE` runs one case in this process.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { zipSync } from 'fflate';
import { decodeSafetensors, readTorchCheckpoint } from '../lib/checkpoint';
import { DEFAULT_MAX_IDX_BYTES, readIdxFile } from '../lib/data/idx';
import { toMnistInput } from '../lib/image/mnist-input';
import { inflatedBytes } from '../lib/image/png-header';
import { readPngFile } from '../lib/image/read-png';
import { pngBytes } from '../test/support/png-builder';

const MB = 2 ** 20;

// ---------------------------------------------------------------------------------------------- inputs

// Deflated at level 1: the costliest picture inflates to 134 MB of zeros, which the default level takes seconds on.
function png(width: number, height: number, bitDepth: number, colorType: number, interlaced: boolean, idat?: Uint8Array): Buffer {
  const header = { width, height, bitDepth, colorType, interlaced };
  return pngBytes({ ...header, idat: idat ?? zlib.deflateSync(Buffer.alloc(inflatedBytes(header)), { level: 1 }) });
}

function idxGzip(shape: number[], dataBytes: number): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
  return zlib.gzipSync(Buffer.concat([header, Buffer.alloc(dataBytes)]), { level: 1 });
}

const zipOf = (pickle: Uint8Array): Uint8Array => zipSync({ 'archive/data.pkl': pickle }, { level: 9 });

/** A pickle: PROTO 2, the body, STOP. */
const pickleOf = (...body: Uint8Array[]): Uint8Array => Buffer.concat([Buffer.of(0x80, 2), ...body, Buffer.from('.')]);

function sharedTuplesPickle(levels: number): Uint8Array {
  const parts: number[] = [0x80, 2, 0x5d, 0x4b, 1, 0x4b, 1, 0x86, 0x72, 0, 0, 0, 0, 0x61];
  for (let k = 0; k < levels; k++) parts.push(0x6a, k, 0, 0, 0, 0x6a, k, 0, 0, 0, 0x86, 0x72, k + 1, 0, 0, 0, 0x61);
  return Uint8Array.from([...parts, 0x2e]);
}

function safetensorsHeader(json: string): Uint8Array {
  const text = Buffer.from(json);
  const out = Buffer.alloc(8 + text.length);
  out.writeBigUInt64LE(BigInt(text.length));
  text.copy(out, 8);
  return out;
}

interface Case {
  reader: string;
  what: string;
  /** Writes the input into `dir`, returns its path. */
  make(dir: string): string;
  read(file: string): unknown;
}

const readPicture = (file: string): unknown => toMnistInput(readPngFile(file));

const CASES: Record<string, Case> = {
  baseline: { reader: '', what: 'nothing read', make: () => '', read: () => undefined },
  'png-case': {
    reader: 'PNG', what: 'the case of af01466: 20000 × 20000, 1 bit (the case file: 48 KB)',
    make: (dir) => write(dir, 'a.png', png(20_000, 20_000, 1, 0, false, zlib.deflateSync(Buffer.alloc(64 * 1024)))),
    read: readPicture,
  },
  'png-worst': {
    reader: 'PNG', what: 'the costliest accepted: 4096 × 4096 RGBA, 16 bits, interlaced, made an MNIST input',
    make: (dir) => write(dir, 'b.png', png(4096, 4096, 16, 6, true)),
    read: readPicture,
  },
  'idx-case': {
    reader: 'gzip IDX', what: 'the case of af01466: 2 million blank 28 × 28 images (its header; the case file had 1.5 MB of zeros after it)',
    make: (dir) => write(dir, 'c.gz', idxGzip([2_000_000, 28, 28], 0)),
    read: (file) => readIdxFile(file),
  },
  'idx-worst': {
    reader: 'gzip IDX', what: 'the costliest accepted: 1 GiB of images once inflated',
    make: (dir) => write(dir, 'd.gz', idxGzip([DEFAULT_MAX_IDX_BYTES - 16, 1, 1], DEFAULT_MAX_IDX_BYTES - 16)),
    read: (file) => readIdxFile(file),
  },
  'pickle-huge-list': {
    reader: 'PyTorch checkpoint', what: 'the case of af01466: a data.pkl of 120 million NONEs in 117 KB of zip',
    make: (dir) => write(dir, 'e.ckpt', zipOf(pickleOf(Buffer.from(']('), Buffer.alloc(120_000_000, 'N'), Buffer.from('e')))),
    read: (file) => readTorchCheckpoint(file),
  },
  'pickle-shared-tuples': {
    reader: 'PyTorch checkpoint', what: 'like the case of af01466: 2^60 memo-shared tuples',
    make: (dir) => write(dir, 'f.ckpt', zipOf(sharedTuplesPickle(60))),
    read: (file) => readTorchCheckpoint(file),
  },
  'pickle-worst': {
    reader: 'PyTorch checkpoint', what: 'the costliest accepted pickle: a list of 999,990 empty dicts, run twice',
    make: (dir) => write(dir, 'g.ckpt', zipOf(pickleOf(Buffer.from(']('), Buffer.alloc(999_990, '}'), Buffer.from('e')))),
    read: (file) => readTorchCheckpoint(file),
  },
  'safetensors-worst': {
    reader: 'safetensors', what: 'the costliest accepted header: 499,999 tensors named, each an empty object',
    make: (dir) => {
      const entries = Array.from({ length: 499_999 }, (_, i) => `"${i.toString(36)}":{}`);
      return write(dir, 'h.safetensors', safetensorsHeader(`{${entries.join(',')}}`));
    },
    read: (file) => decodeSafetensors(fs.readFileSync(file)),
  },
};

function write(dir: string, name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

// ---------------------------------------------------------------------------------------------- running

/**
 * This process's peak RSS in MB: VmHWM, whose count starts at exec (getrusage's maxRSS keeps the parent's peak
 * across fork and exec on Linux, and the parent made gigabytes of input).
 */
function peakRssMB(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

function runOne(name: string, file: string): void {
  const start = performance.now();
  let outcome = 'read';
  try {
    CASES[name].read(file);
  } catch (error) {
    const message = (error as Error).message;
    outcome = `refused: ${message.length > 160 ? `${message.slice(0, 160)}…` : message} (${message.length} characters)`;
  }
  const ms = performance.now() - start;
  console.log(JSON.stringify({ ms, peakRssMB: peakRssMB(), outcome }));
}

function main(): void {
  const [name, file] = process.argv.slice(2);
  if (name) return runOne(name, file);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-reader-limits-'));
  try {
    // The baseline: a process that loads fcnet and reads nothing.
    const baseline = spawnSync(process.execPath, [__filename, 'baseline'], { encoding: 'utf8' });
    console.log(`Node ${process.version}, ${os.cpus()[0]?.model}; a process that only loads fcnet peaks at ${JSON.parse(baseline.stdout).peakRssMB.toFixed(0)} MB\n`);
    console.log('| reader | input | file | time | peak RSS | outcome |\n| --- | --- | ---: | ---: | ---: | --- |');
    for (const [caseName, c] of Object.entries(CASES).filter(([caseName]) => caseName !== 'baseline')) {
      const input = c.make(dir);
      const size = fs.statSync(input).size;
      const run = spawnSync(process.execPath, [__filename, caseName, input], { encoding: 'utf8', maxBuffer: 16 * MB });
      fs.rmSync(input);
      const line = run.stdout.trim().split('\n').pop() ?? '';
      const result = line.startsWith('{') ? JSON.parse(line) : { ms: NaN, peakRssMB: NaN, outcome: `crashed: status ${run.status}, signal ${run.signal}: ${run.stderr.slice(-300)}` };
      const fileSize = size >= MB ? `${(size / MB).toFixed(1)} MB` : `${(size / 1024).toFixed(1)} KB`;
      console.log(`| ${c.reader} | ${c.what} | ${fileSize} | ${(result.ms / 1000).toFixed(2)} s | ${result.peakRssMB.toFixed(0)} MB | ${result.outcome} |`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();

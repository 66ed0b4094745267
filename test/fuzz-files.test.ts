// The file readers under damaged input: 1,000 mutated files per format, made from real ones (a slice of MNIST's
// IDX files, raw and gzip; safetensors written by encodeSafetensors, and a training checkpoint; the PyTorch
// checkpoints in test/fixtures-gen; PNG pictures of every colour type, interlaced or not). Each file is read
// successfully with shapes that agree with the data, or refused with an Error whose message names the source; no
// read takes 1 s, and none allocates more than 16 × what the file justifies + 1 MB (its size; for gzip, what its
// IDX header declares and its data really holds; for PNG, 40 bytes a pixel its header declares, under the limit).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import * as zlib from 'zlib';
import { unzipSync, zipSync } from 'fflate';
import { Adam } from '../lib/adam';
import { decodeSafetensors, encodeSafetensors, isTrainingCheckpoint, readModelWeights, readTorchCheckpoint, saveTrainingCheckpoint } from '../lib/checkpoint';
import { trainingCheckpointFrom } from '../lib/checkpoint/training-checkpoint';
import { parseIdx, readIdxFile } from '../lib/data/idx';
import { decodePng, MAX_PNG_PIXELS, readPngFile } from '../lib/image/read-png';
import { inflatedBytes, readPngHeader } from '../lib/image/png-header';
import { PICKLE_LIMITS } from '../lib/checkpoint/pickle';
import { mnistDataPackageDir } from '../lib/data/mnist';
import { MLP } from '../lib/model';
import { Rng } from '../lib/rng';
import { elementCount, type StateDict } from '../lib/tensor';
import { Mutator } from './fuzz/mutate';
import { PickleBuilder, torchZip } from './fixtures-gen/pickle-builder';
import { pngBytes } from './support/png-builder';

const FILES_PER_FORMAT = Number(process.env.FCNET_FUZZ_FILES ?? 1000);
const MB = 1 << 20;
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-fuzz-files-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------- real files

/** The first `n` items of an MNIST IDX file, as an IDX file of its own (read without loading all 47 MB). */
function mnistSlice(file: string, n: number): Uint8Array {
  const fd = fs.openSync(path.join(mnistDataPackageDir() as string, file), 'r');
  try {
    const head = Buffer.alloc(16);
    fs.readSync(fd, head, 0, 16, 0);
    const dims = head[3];
    const itemBytes = dims === 3 ? head.readUInt32BE(8) * head.readUInt32BE(12) : 1;
    const out = Buffer.alloc(4 + 4 * dims + n * itemBytes);
    fs.readSync(fd, out, 0, out.length, 0);
    out.writeUInt32BE(n, 4);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** A gzip bomb in IDX clothing: a header declaring `shape`, then `zeros` bytes of zeros. */
function idxBomb(shape: number[], zeros: number): Uint8Array {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
  return zlib.gzipSync(Buffer.concat([header, Buffer.alloc(zeros)]), { level: 9 });
}

/** safetensors with one tensor of every dtype, written by hand (encodeSafetensors writes F32 only). */
function everyDtype(): Uint8Array {
  const parts: Array<[string, string, number[], Uint8Array]> = [
    ['f64', 'F64', [2], new Uint8Array(Float64Array.of(1.5, -2).buffer)],
    ['f16', 'F16', [3], Uint8Array.of(0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c)],
    ['bf16', 'BF16', [2, 2], Uint8Array.of(0x80, 0x3f, 0, 0, 0x80, 0xbf, 0x80, 0x7f)],
    ['i64', 'I64', [1], new Uint8Array(BigInt64Array.of(-5n).buffer)],
    ['u8', 'U8', [5], Uint8Array.of(0, 1, 2, 254, 255)],
    ['bool', 'BOOL', [3], Uint8Array.of(0, 1, 7)],
  ];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, dtype, shape, bytes] of parts) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, , , bytes] of parts) {
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

function trainingCheckpointBytes(): Uint8Array {
  const model = new MLP({ sizes: [12, 6, 3], backend: 'js', seed: 3 });
  const file = path.join(dir, 'training.safetensors');
  saveTrainingCheckpoint(file, model, new Adam(model), { epoch: 0, step: 0, rngState: new Rng(1, 2).getState() },
    { epochs: 1, batchSize: 10, seed: 0, lr: 0.001, hidden: [6] });
  return fs.readFileSync(file);
}

// ---------------------------------------------------------------------------------------------- checks

const isError = (e: unknown): e is Error => Object.prototype.toString.call(e) === '[object Error]'; // any realm

function checkTensors(tensors: StateDict, source: string): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t.data instanceof Float32Array) || t.data.length !== elementCount(t.shape)) {
      throw new Error(`${source}: inconsistent tensor '${name}': shape [${t.shape}] but ${t.data?.length} values`);
    }
  }
}

/** What a gzip file justifies: what its IDX header declares, as far as its data really holds it. */
function gzipJustifies(bytes: Uint8Array): number {
  let inflated: Buffer;
  try {
    inflated = zlib.gunzipSync(bytes, { maxOutputLength: 256 * MB });
  } catch {
    return 0;
  }
  const dims = inflated[3];
  if (inflated.length < 4 + 4 * dims || dims < 1 || dims > 4) return 0;
  let declared = 1;
  for (let d = 0; d < dims; d++) declared *= inflated.readUInt32BE(4 + 4 * d);
  return Math.min(inflated.length, 4 + 4 * dims + declared);
}

/** What a PNG justifies: pngjs takes up to 37 bytes a pixel to decode one its limit admits. */
function pngJustifies(bytes: Uint8Array): number {
  const header = readPngHeader(bytes);
  if (typeof header === 'string' || header.width * header.height > MAX_PNG_PIXELS) return 0;
  return 40 * header.width * header.height;
}

interface Outcome {
  files: number;
  read: number;
  refused: number;
  messages: Set<string>;
  maxMs: number;
  maxGrowth: number;
  worstGrowth: string;
  maxRssGrowth: number;
  failures: string[];
}

function tryAll(format: string, bases: Array<{ name: string; bytes: Uint8Array; gzip?: boolean; png?: boolean }>, mutate: (m: Mutator, b: Uint8Array) => { bytes: Uint8Array; how: string },
  read: (bytes: Uint8Array, source: string, file: number) => void, crafted: Array<{ name: string; bytes: Uint8Array; gzip?: boolean; png?: boolean }> = []): Outcome {
  const m = new Mutator(format.length * 1000 + 17);
  const out: Outcome = { files: 0, read: 0, refused: 0, messages: new Set(), maxMs: 0, maxGrowth: 0, worstGrowth: '', maxRssGrowth: 0, failures: [] };
  const cases = (function* () {
    for (const c of crafted) yield { ...c, how: 'crafted' };
    for (let i = crafted.length; i < FILES_PER_FORMAT; i++) {
      const base = m.pick(bases);
      let bytes = base.bytes;
      const hows: string[] = [];
      for (let k = m.int(1, 3); k > 0; k--) {
        const step = m.chance(0.5) ? mutate(m, bytes) : m.generic(bytes);
        bytes = step.bytes;
        hows.push(step.how);
      }
      // gzip files: damage the compressed bytes, or compress damaged IDX bytes
      if (base.gzip && m.chance(0.5)) {
        const raw = zlib.gunzipSync(base.bytes);
        const step = m.chance(0.5) ? mutate(m, raw) : m.generic(raw);
        bytes = zlib.gzipSync(step.bytes);
        hows.splice(0, hows.length, `gzip of (${step.how})`);
      }
      yield { name: base.name, bytes, gzip: base.gzip, png: base.png, how: hows.join(', ') };
    }
  })();
  let lastGrowth = 0;
  for (const c of cases) {
    const source = `${format}-fuzz-${out.files}`;
    const justified = Math.max(c.bytes.length, c.gzip ? gzipJustifies(c.bytes) : 0, c.png ? pngJustifies(c.bytes) : 0);
    if (out.files % 100 === 0 || lastGrowth > MB) gc(); // a big garbage left by the last read could be collected during this one
    const rssBefore = process.resourceUsage().maxRSS * 1024;
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    let result: unknown;
    try {
      result = read(c.bytes, source, out.files);
      out.read++;
    } catch (e) {
      out.refused++;
      if (!isError(e)) out.failures.push(`${source} (${c.name}: ${c.how}): threw a non-Error ${String(e)}`);
      else if (!e.message.includes(source)) out.failures.push(`${source} (${c.name}: ${c.how}): message does not name the source: ${e.stack}`);
      else out.messages.add(e.message.replace(source, '').replace(/\d+/g, 'N').slice(0, 100));
    }
    const ms = performance.now() - t0;
    const growth = process.memoryUsage().arrayBuffers - before;
    lastGrowth = growth;
    const rssGrowth = process.resourceUsage().maxRSS * 1024 - rssBefore;
    void result;
    out.files++;
    out.maxMs = Math.max(out.maxMs, ms);
    out.maxRssGrowth = Math.max(out.maxRssGrowth, rssGrowth);
    if (growth > out.maxGrowth) {
      out.maxGrowth = growth;
      out.worstGrowth = `${source}, ${c.name}: ${c.how}; it justifies ${justified} bytes`;
    }
    if (ms >= 1000) out.failures.push(`${source} (${c.name}: ${c.how}): took ${ms.toFixed(0)} ms`);
    if (growth > 16 * justified + MB) out.failures.push(`${source} (${c.name}: ${c.how}): array buffers grew ${growth} bytes for a file that justifies ${justified}`);
    if (rssGrowth > 16 * justified + 16 * MB) out.failures.push(`${source} (${c.name}: ${c.how}): peak RSS grew ${rssGrowth} bytes for a file that justifies ${justified}`);
  }
  console.log(`${format}: ${out.files} files (${crafted.length} crafted), ${out.read} read, ${out.refused} refused with ${out.messages.size} distinct messages; ` +
    `slowest ${out.maxMs.toFixed(1)} ms; array buffers grew at most ${out.maxGrowth} bytes in one read (${out.worstGrowth}); peak RSS grew at most ${(out.maxRssGrowth / MB).toFixed(1)} MB in one read`);
  return out;
}

const writeTemp = (bytes: Uint8Array, name: string): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
};

// ---------------------------------------------------------------------------------------------- formats

test(`${FILES_PER_FORMAT} damaged IDX files, raw and gzip: read consistently or refused naming the file`, () => {
  const images = mnistSlice('train-images-idx3-ubyte', 16), labels = mnistSlice('train-labels-idx1-ubyte', 16);
  const bases = [
    { name: 'images', bytes: images }, { name: 'labels', bytes: labels },
    { name: 'images.gz', bytes: zlib.gzipSync(images), gzip: true }, { name: 'labels.gz', bytes: zlib.gzipSync(labels), gzip: true },
  ];
  const crafted = [
    { name: 'bomb: header [1, 28, 28], 64 MB of zeros', bytes: idxBomb([1, 28, 28], 64 * MB), gzip: true },
    { name: 'bomb: header [1], 16 MB of zeros', bytes: idxBomb([1], 16 * MB), gzip: true },
    { name: 'header [60000, 28, 28], 1,000 bytes of data', bytes: idxBomb([60000, 28, 28], 1000), gzip: true },
    { name: 'header [4294967295, 4294967295, 4294967295, 4294967295]', bytes: idxBomb([2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1], 100), gzip: true },
    // The case of af01466 (3.1 GB, 12.7 s): a header declaring 2 million images, over the 1 GiB ceiling.
    { name: 'header [2000000, 28, 28], 1 MB of zeros', bytes: idxBomb([2_000_000, 28, 28], MB), gzip: true },
  ];
  const out = tryAll('idx', bases, (m, b) => m.idx(b), (bytes, source, i) => {
    const a = i % 5 === 0 ? readIdxFile(writeTemp(bytes, source)) : parseIdx(bytes, source);
    if (a.data.length !== a.shape.reduce((x, y) => x * y, 1)) throw new Error(`inconsistent: shape [${a.shape}] but ${a.data.length} bytes`);
    return a;
  }, crafted);
  expect(out.failures).toEqual([]);
  expect(out.read).toBeGreaterThan(0);
  expect(out.refused).toBeGreaterThan(0);
});

test(`${FILES_PER_FORMAT} damaged safetensors files and training checkpoints: read consistently or refused naming the file`, () => {
  const model = new MLP({ sizes: [12, 6, 3], backend: 'js', seed: 1 });
  const bases = [
    { name: 'weights', bytes: encodeSafetensors(model.stateDict(), { format: 'pt', note: 'fuzz' }) },
    { name: 'every dtype', bytes: everyDtype() },
    { name: 'training checkpoint', bytes: trainingCheckpointBytes() },
  ];
  const out = tryAll('safetensors', bases, (m, b) => m.safetensors(b), (bytes, source, i) => {
    if (i % 5 === 0) return readModelWeights(writeTemp(bytes, source));
    const contents = decodeSafetensors(bytes, { source });
    checkTensors(contents.tensors, source);
    if (isTrainingCheckpoint(contents.metadata)) checkTensors(trainingCheckpointFrom(contents, source).parameters, source);
    return contents;
  });
  expect(out.failures).toEqual([]);
  expect(out.read).toBeGreaterThan(0);
  expect(out.refused).toBeGreaterThan(0);
});

test(`${FILES_PER_FORMAT} damaged PyTorch checkpoints: read consistently or refused naming the file`, () => {
  const fixtures = path.join(__dirname, 'fixtures-gen');
  const bases = ['tiny_mlp', 'tiny_mlp_protocol4', 'views', 'dtypes', 'malicious_os_system'].map((name) => ({ name, bytes: fs.readFileSync(path.join(fixtures, `${name}.ckpt`)) }));
  // A zip bomb: data/0 (80 bytes needed) deflated from 16 MB, most of it zeros.
  const entries = unzipSync(bases[0].bytes);
  const bomb = new Uint8Array(16 * MB);
  bomb.set(entries['tiny_mlp/data/0']);
  entries['tiny_mlp/data/0'] = bomb;
  // Pickle bombs, after the cases of af01466: a data.pkl of NONEs past the pickle limit (a V8 fatal error), and
  // 2^60 memo-shared tuples as a storage offset (34 s, 1.2 GB and a 128 MB message).
  const shared = new PickleBuilder().proto().op('}').string('shared').op(']').int(1).int(1).op('\x86').op('r').raw(0, 0, 0, 0).op('a');
  for (let k = 0; k < 60; k++) shared.op('j').raw(k, 0, 0, 0).op('j').raw(k, 0, 0, 0).op('\x86').op('r').raw(k + 1, 0, 0, 0).op('a');
  shared.op('s').string('fc1.weight').global('torch._utils', '_rebuild_tensor_v2').op('(')
    .op('(').string('storage').global('torch', 'FloatStorage').string('0').string('cpu').int(1).op('t').op('Q')
    .op('j').raw(60, 0, 0, 0).ints([1]).ints([1]).raw(0x89).global('collections', 'OrderedDict').op(')').op('R').op('t').op('R').op('s').op('.');
  const crafted = [
    { name: 'zip bomb: data/0 inflates to 16 MB', bytes: zipSync(entries, { level: 9 }) },
    { name: 'pickle bomb: data.pkl of NONEs past the pickle limit', bytes: zipSync({ 'archive/data.pkl': new Uint8Array(PICKLE_LIMITS.maxBytes + 1).fill(0x4e) }, { level: 9 }) },
    { name: 'pickle bomb: 2^60 memo-shared tuples as a storage offset', bytes: torchZip({ 'data.pkl': shared.build(), 'data/0': new Uint8Array(4) }) },
  ];
  const out = tryAll('torch', bases, (m, b) => m.zip(b), (bytes, source, i) => {
    if (i % 5 === 0) return readModelWeights(writeTemp(bytes, source));
    const tensors = readTorchCheckpoint(bytes, { source });
    checkTensors(tensors, source);
    return tensors;
  }, crafted);
  expect(out.failures).toEqual([]);
  expect(out.read).toBeGreaterThan(0);
  expect(out.refused).toBeGreaterThan(0);
});

/** A picture whose rows hold random bytes after filter type 0 (none); interlaced ones are all zeros. */
function pngBase(m: Mutator, width: number, height: number, colorType: number, bitDepth: number, interlaced: boolean): Uint8Array {
  if (interlaced) return pngBytes({ width, height, colorType, bitDepth, interlaced });
  const rows = inflatedBytes({ width, height, colorType, bitDepth, interlaced });
  const scanlines = m.bytes(rows);
  const rowBytes = rows / height;
  for (let y = 0; y < height; y++) scanlines[y * rowBytes] = 0;
  return pngBytes({ width, height, colorType, bitDepth, scanlines });
}

test(`${FILES_PER_FORMAT} damaged PNG pictures: decoded to consistent RGBA or refused naming the file`, () => {
  const m = new Mutator(4242);
  const bases = ([[0, 1], [0, 8], [0, 16], [2, 8], [3, 2], [4, 8], [6, 8], [6, 16]] as const).flatMap(([colorType, bitDepth]) =>
    [false, true].map((interlaced) => ({
      name: `${colorType}/${bitDepth}${interlaced ? ' interlaced' : ''}`,
      bytes: pngBase(m, 29, 17, colorType, bitDepth, interlaced),
      png: true,
    })));
  const crafted = [
    // The case of af01466 (37 s, 4.6 GB): 20000 × 20000 pixels of 1 bit in 48 KB.
    { name: '20000 × 20000, 1 bit', bytes: pngBytes({ width: 20_000, height: 20_000, bitDepth: 1, idat: zlib.deflateSync(Buffer.alloc(64 * 1024)) }), png: true },
    { name: 'interlaced 4 × 4, image data of 32 MB of zeros', bytes: pngBytes({ width: 4, height: 4, interlaced: true, idat: zlib.deflateSync(Buffer.alloc(32 * MB)) }), png: true },
    { name: '1 × 1, image data of 32 MB of zeros', bytes: pngBytes({ width: 1, height: 1, idat: zlib.deflateSync(Buffer.alloc(32 * MB)) }), png: true },
  ];
  // Decoding takes about a microsecond a pixel (several on a busy machine): a header damaged to claim the default
  // limit's 16.8 million pixels would take seconds to refuse, not a hang; a lower limit keeps each read under the
  // 1 s that marks one. The default limit is tested in reader-limits.test.ts.
  const maxPixels = 1 << 16;
  const out = tryAll('png', bases, (mm, b) => mm.png(b), (bytes, source, i) => {
    const image = i % 5 === 0 ? readPngFile(writeTemp(bytes, source), { maxPixels }) : decodePng(bytes, source, { maxPixels });
    if (image.rgba.length !== 4 * image.width * image.height) throw new Error(`inconsistent: ${image.width} × ${image.height} but ${image.rgba.length} bytes`);
    return image;
  }, crafted);
  expect(out.failures).toEqual([]);
  expect(out.read).toBeGreaterThan(0);
  expect(out.refused).toBeGreaterThan(0);
});

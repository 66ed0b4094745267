// Where the PyTorch fixtures are: test/fixtures/ in the repository, made by test/fixtures-gen/ (see
// test/fixtures/README.md). FCNET_FIXTURES names a folder looked in first (fixtures regenerated elsewhere, or a
// GPU machine's copy). They are committed, so a missing one is a broken checkout: the suite fails, never skips.
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../../lib/package-root';

const root = packageRoot();
const folders = [process.env.FCNET_FIXTURES, path.join(root, 'test', 'fixtures')].filter(
  (dir): dir is string => dir !== undefined && dir !== '',
);

/** The model.ckpt of scripts/reference/train_pytorch.py (PyTorch's state_dict of the reference network),
 *  which the README's examples use. */
export const referenceCheckpoint = path.join(root, 'examples', 'model.ckpt');

/** The test accuracy PyTorch printed for referenceCheckpoint (a fraction), from its committed output. */
export function referenceCheckpointAccuracy(): number {
  const printed = fs.readFileSync(path.join(root, 'examples', 'train_pytorch_output.txt'), 'utf8');
  const match = /^Accuracy of the network on the 10000 test images: ([\d.]+) %$/m.exec(printed);
  if (match === null) throw new Error('examples/train_pytorch_output.txt has no accuracy line');
  return Number(match[1]) / 100;
}

/** The fixtures of a training step (see their README): a tiny network and the reference one. */
export const fixtureNames = ['mlp_H32_B8_seed1', 'mlp_H500_B100_seed2'];

/** The two files of fixture `name`. */
export const fixtureFilesOf = (name: string): string[] => [`${name}.json`, `${name}.safetensors`];

/** The path of fixture file `name`, or null when no fixture folder holds it. */
export function fixtureFile(name: string): string | null {
  return folders.map((dir) => path.join(dir, name)).find((file) => fs.existsSync(file)) ?? null;
}

/** The fixture's path; throws (inside a test) when it is missing. */
export function requireFixtureFile(name: string): string {
  const file = fixtureFile(name);
  if (file === null) throw new Error(missingMessage([name]));
  return file;
}

function missingMessage(names: string[]): string {
  return `the PyTorch fixture files ${names.join(', ')} are not in ${folders.join(' or ')}: ` +
    'regenerate them with /usr/bin/python3 test/fixtures-gen/make-training-fixtures.py (see test/fixtures/README.md)';
}

/** describe() for tests that read the fixture files `names`; where one is missing, a failing test says which. */
export function describeWithFixtures(title: string, names: string[], body: () => void): void {
  const missing = names.filter((name) => fixtureFile(name) === null);
  if (missing.length === 0) {
    describe(title, body);
  } else {
    test(`${title}: the fixtures are present`, () => {
      throw new Error(missingMessage(missing));
    });
  }
}

/**
 * What a fixture keeps of a tensor shaped like parameter `name` (`fc<l>.weight` [out, in] or `fc<l>.bias`), taken
 * from the whole tensor `full`: the fixture's JSON lists under `rows` the rows (output units) it kept of a large
 * weight's gradient, parameters after the steps and optimizer state (see test/fixtures/README.md); the other
 * tensors are whole.
 */
export function storedPart(full: Float32Array, name: string, meta: { sizes: number[]; rows?: Record<string, number[]> }): Float32Array {
  const rows = meta.rows?.[name];
  if (rows === undefined) return full;
  const layer = /^fc(\d+)\.weight$/.exec(name);
  if (layer === null) throw new Error(`fixture keeps rows of ${name}, which is not a weight fc<l>.weight`);
  const width = meta.sizes[Number(layer[1]) - 1]; // fc<l>.weight is [sizes[l], sizes[l-1]]
  const part = new Float32Array(rows.length * width);
  rows.forEach((row, k) => part.set(full.subarray(row * width, (row + 1) * width), k * width));
  return part;
}

// Where the PyTorch fixtures are, and what a suite does without them. They live outside the repository
// (../shared/fixtures beside the checkout, or shared/fixtures inside it; FCNET_FIXTURES names another folder,
// as on the GPU machine).
// Without them a suite skips with the reason on a developer's machine, but fails under CI, where a silent
// skip would hide a regression.
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../../lib/package-root';

const root = packageRoot();
const folders = [process.env.FCNET_FIXTURES, path.join(root, '..', 'shared', 'fixtures'), path.join(root, 'shared', 'fixtures')].filter(
  (dir): dir is string => dir !== undefined && dir !== '',
);

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
    "put the project's shared/fixtures beside the checkout or set FCNET_FIXTURES to their folder";
}

const warned = new Set<string>();
function warnOnce(message: string): void {
  if (!warned.has(message)) console.warn(`skipped: ${message}`);
  warned.add(message);
}

/** describe() for tests that read the fixture files `names`. */
export function describeWithFixtures(title: string, names: string[], body: () => void): void {
  const missing = names.filter((name) => fixtureFile(name) === null);
  if (missing.length === 0) {
    describe(title, body);
  } else if (process.env.CI) {
    test(`${title}: the fixtures are present`, () => {
      throw new Error(missingMessage(missing));
    });
  } else {
    const why = missingMessage(missing);
    warnOnce(why);
    test.skip(`${title} (skipped: ${why})`, () => undefined);
  }
}

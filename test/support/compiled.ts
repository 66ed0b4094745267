// The compiled package (dist/lib), for code that cannot load TypeScript: worker threads and child processes.
// Compiled first (npx tsc) when it is missing or older than any file in lib/.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(file));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  }
  return newest;
}

/** The folder of the compiled library (dist/lib), up to date with lib/. */
export function compiledLib(): string {
  const index = path.join(root, 'dist', 'lib', 'index.js');
  if (!fs.existsSync(index) || fs.statSync(index).mtimeMs < newestSource(path.join(root, 'lib'))) {
    const tsc = require.resolve('typescript/bin/tsc');
    const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8' });
    // tsc writes its output even when it reports type errors; only a missing output is fatal here.
    if (!fs.existsSync(index)) throw new Error(`npx tsc -p tsconfig.json did not produce ${index}:\n${run.stdout}${run.stderr}`);
  }
  return path.dirname(index);
}

/** dist/web/mnist-input.js, the browser's copy of the picture preparation (tsconfig.web.json), up to date. */
export function compiledWebPreparation(): string {
  const output = path.join(root, 'dist', 'web', 'mnist-input.js');
  const source = path.join(root, 'lib', 'image', 'mnist-input.ts');
  if (!fs.existsSync(output) || fs.statSync(output).mtimeMs < fs.statSync(source).mtimeMs) {
    const tsc = require.resolve('typescript/bin/tsc');
    const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.web.json'], { cwd: root, encoding: 'utf8' });
    if (run.status !== 0 || !fs.existsSync(output)) throw new Error(`npx tsc -p tsconfig.web.json failed:\n${run.stdout}${run.stderr}`);
  }
  return output;
}

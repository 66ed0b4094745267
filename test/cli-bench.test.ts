// `fcnet bench` (and `npm run bench`): a short run writes the tables and the JSON with every kernel, step and epoch
// measured on cpu and js, and the ratios between them; bad options are usage errors. Speed itself is not tested here.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../lib/cli/main';

const kernelNames = [
  'gather 100×784 bytes → floats',
  'forward 100×784 · 784×500 (+bias, ReLU)',
  'forward 100×500 · 500×10 (+bias)',
  'loss: softmax cross-entropy + gradient',
  'backward 10×100 · 100×500 and 100×10 · 10×500',
  'ReLU backward 100×500',
  'backward 500×100 · 100×784 (weight gradient)',
  'Adam over 397,510 parameters',
];

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const log = jest.spyOn(console, 'log').mockImplementation((s: unknown) => void (out += `${String(s)}\n`));
  const error = jest.spyOn(console, 'error').mockImplementation((s: unknown) => void (err += `${String(s)}\n`));
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await main(['bench', ...args]), out, err };
  } finally {
    log.mockRestore();
    error.mockRestore();
    stderr.mockRestore();
  }
}

test('a short run measures every kernel, the steps and fit() on cpu and js, and writes JSON and markdown', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-bench-'));
  const json = path.join(dir, 'r.json');
  const md = path.join(dir, 'r.md');
  // Results are written atomically (never through a symlink), keeping a replaced file's permissions.
  const victim = path.join(dir, 'victim.txt');
  fs.writeFileSync(victim, 'not results');
  fs.symlinkSync(victim, json);
  fs.writeFileSync(md, 'older results');
  fs.chmodSync(md, 0o640);
  const { code, out } = await run(['--backends', 'cpu,js', '--repeats', '2', '--epochs', '1', '--json', json, '--markdown', md]);
  expect(code).toBe(0);
  expect(fs.readFileSync(victim, 'utf8')).toBe('not results');
  expect(fs.lstatSync(json).isFile()).toBe(true);
  expect(fs.statSync(md).mode & 0o7777).toBe(0o640);
  const r = JSON.parse(fs.readFileSync(json, 'utf8'));
  expect(r.settings).toMatchObject({ batch: 100, hidden: 500, repeats: 2 });
  for (const b of ['cpu', 'js']) {
    expect(r.kernels[b].map((k: { name: string }) => k.name)).toEqual(kernelNames);
    for (const k of r.kernels[b]) expect(k.medianMs).toBeGreaterThan(0);
  }
  expect(r.steps.map((s: { engine: string }) => s.engine)).toEqual(['cpu (fused sparse step)', 'cpu (BLAS kernels)', 'js']);
  for (const s of r.steps) expect(s.secondsPerEpochFromSteps).toBeCloseTo((600 * s.medianMs) / 1000, 6);
  const phases = Object.values(r.steps[0].phasesMs as Record<string, number>);
  expect(phases.every((ms) => ms >= 0)).toBe(true);
  expect(r.epochs.cpu.epochs).toHaveLength(1);
  expect(r.epochs.cpu.secondsPerEpoch).toBeGreaterThan(0);
  // The ratio column: js time over cpu time, as printed.
  const adam = r.kernels.js[7].medianMs / r.kernels.cpu[7].medianMs;
  expect(out).toContain(`${adam.toFixed(1)}×`);
  const markdown = fs.readFileSync(md, 'utf8');
  expect(markdown).toMatch(/^Measured \d{4}-\d\d-\d\d on .* with `npm run bench -- --backends cpu,js /);
  expect(markdown).toContain('| kernel (median of one call) | cpu ms | cpu GFLOP/s | js ms | js GFLOP/s | cpu speed-up over js |');
  expect(markdown).toContain('| cpu (fused sparse step) |');
  fs.rmSync(dir, { recursive: true });
}, 120_000);

test('--help prints the options; unknown options and bad numbers are usage errors', async () => {
  const help = await run(['--help']);
  expect(help.code).toBe(0);
  expect(help.out).toMatch(/^Usage: fcnet bench \[options\]/);
  expect(help.out).toContain('--compare-pytorch');
  const unknown = await run(['--fast']);
  expect(unknown.code).toBe(2);
  expect(unknown.err).toMatch(/^fcnet bench: unknown option '--fast'\n/);
  const bad = await run(['--repeats', '0']);
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/^fcnet bench: Expected integer between 1 and 1000000 for --repeats but received '0'\n/);
  const notABackend = await run(['--backends', 'cpu,tpu']);
  expect(notABackend.code).toBe(2);
  expect(notABackend.err).toMatch(/^fcnet bench: Expected a comma-separated list of cpu, js, cuda for --backends but received 'cpu,tpu'\n/);
});

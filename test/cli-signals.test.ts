// Signals and concurrent runs, on the built CLI in a child process with a small MNIST-shaped folder:
// SIGINT, SIGTERM and SIGHUP each stop `fcnet train` after its current step, save the checkpoint when one is
// asked for, never write --output, and exit with 128 + the signal; a second `fcnet train` on the same
// checkpoint refuses, naming the first one's process id; a lock left by a killed run is taken over.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrainingCheckpoint } from '../lib/checkpoint';
import { Rng } from '../lib/rng';
import { compiledLib } from './support/compiled';
import { syntheticDigits, writeIdxFolder } from './support/idx-folder';

const SIDE = 8;
let cli: string;
let folder: string;
const at = (name: string): string => join(folder, name);

beforeAll(() => {
  cli = join(compiledLib(), 'cli', 'main.js');
  folder = mkdtempSync(join(tmpdir(), 'fcnet-cli-signals-'));
  const rng = new Rng(11);
  writeIdxFolder(folder, SIDE, syntheticDigits(300, rng, SIDE), syntheticDigits(40, rng, SIDE));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** A run long enough to be stopped: a loss line every step, 19 steps an epoch, far more epochs than it lives. */
const longRun = ['train', '--data', '', '--epochs', '100000', '--batch-size', '16', '--hidden', '16', '--backend', 'cpu', '--log-every', '1', '--plain'];

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `fcnet ARGS`; `started` resolves at its third loss line (training is under way), `ended` at its exit. */
function start(args: string[]): { child: ChildProcessWithoutNullStreams; started: Promise<void>; ended: Promise<Ended> } {
  const child = spawn(process.execPath, [cli, ...args.map((a) => (a === '' ? folder : a))], { cwd: folder });
  let stdout = '';
  let stderr = '';
  let resolveStarted: () => void;
  const started = new Promise<void>((resolve) => (resolveStarted = resolve));
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    if (stdout.split('\n').length > 3) resolveStarted();
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const ended = new Promise<Ended>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  ended.then(() => resolveStarted()); // a run that dies early must not leave the test waiting
  return { child, started, ended };
}

const exitCodes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

describe.each(Object.entries(exitCodes) as [keyof typeof exitCodes, number][])('%s', (signal, exitCode) => {
  test(`with --checkpoint: finishes the step, saves the checkpoint, leaves --output alone, exits ${exitCode}`, async () => {
    const checkpoint = at(`${signal}.ckpt`);
    const output = at(`${signal}.safetensors`);
    writeFileSync(output, 'the weights of an earlier run');
    const run = start([...longRun, '--checkpoint', checkpoint, '--output', output]);
    await run.started;
    run.child.kill(signal);
    const { code, stdout, stderr } = await run.ended;
    expect(code).toBe(exitCode);
    const lastStep = /Epoch \[(\d+)\/100000\], Step \[(\d+)\/19\], Loss: \d+\.\d{4}\n$/.exec(stdout);
    expect(lastStep).not.toBeNull();
    const [epoch, step] = [Number(lastStep![1]), Number(lastStep![2])];
    const note = signal === 'SIGINT'
      ? 'fcnet: stopping after this step to save a checkpoint (Ctrl-C again to quit at once)'
      : `fcnet: ${signal}: stopping after this step to save a checkpoint (a second signal to quit at once)`;
    expect(stderr).toContain(`${note}\n`);
    expect(stderr.endsWith(`fcnet train: interrupted after epoch ${epoch}, step ${step}; saved ${checkpoint}: continue with --resume ${checkpoint}\n`)).toBe(true);
    // The checkpoint holds the position right after the last step printed.
    const position = loadTrainingCheckpoint(checkpoint).position;
    expect(position.epoch * 19 + position.step).toBe((epoch - 1) * 19 + step);
    expect(readFileSync(output, 'utf8')).toBe('the weights of an earlier run');
    expect(existsSync(`${checkpoint}.lock`)).toBe(false);
  });
});

test("a table's run (--data table.csv): SIGTERM finishes the step, saves the whole run state, exits 143", async () => {
  const table = join(__dirname, '..', 'examples', 'data', 'breast-cancer-train.csv');
  const checkpoint = at('table.ckpt');
  const output = at('table.safetensors');
  const run = start([
    'train', '--data', table, '--target', 'diagnosis', '--validation', '0.2', '--early-stop', '100000', '--standardize', '--optimizer', 'sgd', '--momentum', '0.9',
    '--epochs', '100000', '--batch-size', '16', '--hidden', '16', '--backend', 'cpu', '--log-every', '1', '--plain', '--checkpoint', checkpoint, '--output', output,
  ]);
  await run.started;
  run.child.kill('SIGTERM');
  const { code, stdout, stderr } = await run.ended;
  expect(code).toBe(143);
  const steps = [...stdout.matchAll(/^Epoch \[(\d+)\/100000\], Step \[(\d+)\/15\], Loss: \d+\.\d{4}$/gm)];
  const [epoch, step] = [Number(steps[steps.length - 1][1]), Number(steps[steps.length - 1][2])];
  expect(stderr).toContain('fcnet: SIGTERM: stopping after this step to save a checkpoint (a second signal to quit at once)\n');
  expect(stderr.endsWith(`fcnet train: interrupted after epoch ${epoch}, step ${step}; saved ${checkpoint}: continue with --resume ${checkpoint}\n`)).toBe(true);
  const saved = loadTrainingCheckpoint(checkpoint);
  expect(saved.position.epoch * 15 + saved.position.step).toBe((epoch - 1) * 15 + step);
  expect(saved.optimizer?.kind).toBe('sgd');
  expect(saved.settings.table).toMatchObject({ target: 'diagnosis', validation: 0.2, standardize: true, earlyStop: 100000 });
  expect(existsSync(output)).toBe(false);
  expect(existsSync(`${checkpoint}.lock`)).toBe(false);
});

test('without --checkpoint, SIGTERM stops the run, saves nothing and exits 143', async () => {
  const output = at('no-checkpoint.safetensors');
  const run = start([...longRun, '--output', output]);
  await run.started;
  run.child.kill('SIGTERM');
  const { code, stderr } = await run.ended;
  expect(code).toBe(143);
  expect(stderr).toContain('fcnet: SIGTERM: stopping after this step (the weights are not saved: --checkpoint FILE would keep the run) (a second signal to quit at once)\n');
  expect(stderr).toMatch(new RegExp(`fcnet train: interrupted after epoch \\d+, step \\d+; nothing saved \\(${output.replace(/[.]/g, '\\.')} is as it was\\): --checkpoint FILE saves a run that can be resumed\n$`));
  expect(existsSync(output)).toBe(false);
});

test('two SIGTERMs at once: the process ends (by the second, or itself with 143) and writes no weights', async () => {
  const run = start([...longRun, '--output', at('twice.safetensors')]);
  await run.started;
  // Both at once: the first is being handled (the note), the second finds the handler already used.
  run.child.kill('SIGTERM');
  run.child.kill('SIGTERM');
  const { code, signal } = await run.ended;
  // Either the second signal came in before the step ended (killed by it) or after (the run stopped itself).
  expect(signal === 'SIGTERM' || code === 143).toBe(true);
  expect(existsSync(at('twice.safetensors'))).toBe(false);
});

describe('one run per checkpoint', () => {
  test('a second fcnet train on the same checkpoint refuses, naming the first one\'s process id', async () => {
    const checkpoint = at('shared.ckpt');
    const first = start([...longRun, '--checkpoint', checkpoint, '--output', at('first.safetensors')]);
    await first.started;
    const second = spawnSync(process.execPath, [cli, ...longRun.map((a) => (a === '' ? folder : a)), '--checkpoint', checkpoint, '--epochs', '1'], { cwd: folder, encoding: 'utf8' });
    expect(second.status).toBe(1);
    expect(second.stdout).toBe(''); // refused before training
    expect(second.stderr).toMatch(new RegExp(
      `^fcnet train: ${checkpoint}: in use by process ${first.child.pid}, started \\S+, which holds ${checkpoint}\\.lock; ` +
        'two runs saving to one checkpoint would overwrite each other\\. ' +
        `Wait for that run to end, or name another file; if no such run is left, delete ${checkpoint}\\.lock\n$`,
    ));
    // --resume of that file is refused the same way.
    const resume = spawnSync(process.execPath, [cli, 'train', '--data', folder, '--resume', checkpoint], { cwd: folder, encoding: 'utf8' });
    expect(resume.status).toBe(1);
    expect(resume.stderr).toContain(`in use by process ${first.child.pid}`);
    first.child.kill('SIGINT');
    expect((await first.ended).code).toBe(130);
    expect(existsSync(`${checkpoint}.lock`)).toBe(false);
  });

  test('a lock whose process is gone is taken over, and released at the end', () => {
    const checkpoint = at('stale.ckpt');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!; // a process id that no longer runs
    writeFileSync(`${checkpoint}.lock`, JSON.stringify({ pid: gone, host: hostname(), started: '2026-11-30T00:00:00.000Z' }));
    const r = spawnSync(process.execPath, [cli, 'train', '--data', folder, '--epochs', '1', '--batch-size', '16', '--hidden', '16', '--backend', 'cpu', '--plain', '--checkpoint', checkpoint, '--output', at('stale.safetensors')], { cwd: folder, encoding: 'utf8' });
    expect(r.stderr).not.toContain('in use');
    expect(r.status).toBe(0);
    expect(loadTrainingCheckpoint(checkpoint).position).toMatchObject({ epoch: 1, step: 0 });
    expect(existsSync(`${checkpoint}.lock`)).toBe(false);
  });

  test('a lock of another machine is not judged: refused, naming the host', () => {
    const checkpoint = at('remote.ckpt');
    writeFileSync(`${checkpoint}.lock`, JSON.stringify({ pid: 4242, host: 'elsewhere', started: '2026-11-30T00:00:00.000Z' }));
    const r = spawnSync(process.execPath, [cli, 'train', '--data', folder, '--checkpoint', checkpoint], { cwd: folder, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`fcnet train: ${checkpoint}: in use by process 4242 on elsewhere, started 2026-11-30T00:00:00.000Z`);
    expect(existsSync(`${checkpoint}.lock`)).toBe(true);
  });
});

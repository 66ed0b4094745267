// `fcnet train --data table.csv --checkpoint / --checkpoint-every / --resume` (issue 14): a table's run, with
// held-out rows, early stopping, the scaler and a schedule, stopped after any step (Ctrl-C, stood in for by an
// AbortSignal) and resumed from its checkpoint saves the same weights file, byte for byte, as the run never
// stopped, for Adam and for SGD with momentum; the checkpoint holds the whole run state.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrainingCheckpoint } from '../lib/checkpoint';
import { main } from '../lib/cli/main';
import { trainCommand } from '../lib/cli/train';
import { Rng } from '../lib/rng';
import { captureConsole } from './support/console-capture';
import { syntheticDigits, writeIdxFolder } from './support/idx-folder';
import { writeNpy } from './support/npy-file';

const table = join(__dirname, '..', 'examples', 'data', 'breast-cancer-train.csv');
// 284 rows: 57 held out, 227 train in 15 steps of 16 (the last one 3).
const STEPS = 15;
const common = ['--data', table, '--target', 'diagnosis', '--standardize', '--validation', '0.2', '--hidden', '16', '--batch-size', '16',
  '--seed', '5', '--backend', 'cpu', '--log-every', '1', '--plain'];
const runs = {
  adam: [...common, '--epochs', '12', '--lr', '0.005', '--early-stop', '2', '--lr-schedule', 'step:3:0.5'], // stops after epoch 11
  sgd: [...common, '--epochs', '12', '--optimizer', 'sgd', '--momentum', '0.9', '--lr', '0.02', '--early-stop', '2', '--weight-decay', '0.001'], // after 10
};
const helpHint = 'Run `fcnet train --help` for the options.';

let folder: string;
const at = (name: string): string => join(folder, name);
beforeAll(() => (folder = mkdtempSync(join(tmpdir(), 'fcnet-table-ckpt-'))));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Runs `args`, aborting (as Ctrl-C would) when the step line `stopAt` is printed. */
async function stoppedRun(args: string[], stopAt: string) {
  const controller = new AbortController();
  return captureConsole(() => trainCommand(args, controller.signal), (line) => line.startsWith(stopAt) && controller.abort());
}

describe.each(Object.entries(runs))('%s', (kind, run) => {
  let whole: Awaited<ReturnType<typeof captureConsole>>;
  beforeAll(async () => {
    whole = await captureConsole(() => trainCommand([...run, '--output', at(`${kind}-whole.safetensors`)]));
    if (whole.error) throw whole.error;
  });

  test('the run stops early and keeps its best weights (so the resumed runs below cover that too)', () => {
    expect(whole.stderr.some((line) => /^fcnet: early stop after epoch \d+; kept the weights of epoch \d+$/.test(line))).toBe(true);
  });

  test.each([
    ['in the middle of an epoch', `Epoch [2/12], Step [6/${STEPS}]`, 'after epoch 2, step 6', { epoch: 1, step: 6 }],
    ["at an epoch's last step (saved once the epoch's validation is counted)", `Epoch [3/12], Step [${STEPS}/${STEPS}]`, `after epoch 3, step ${STEPS}`, { epoch: 3, step: 0 }],
  ])('stopped %s and resumed: the same weights file, byte for byte', async (_, stopAt, where, position) => {
    const checkpoint = at(`${kind}-${position.epoch}.ckpt`);
    const stopped = await stoppedRun([...run, '--checkpoint', checkpoint, '--output', at('unused.safetensors')], stopAt);
    expect(stopped.error?.message).toBe(`interrupted ${where}; saved ${checkpoint}: continue with --resume ${checkpoint}`);
    const saved = loadTrainingCheckpoint(checkpoint);
    expect(saved.position).toMatchObject(position);
    // The whole run state: optimizer, schedule, early stopping with its best weights, the table's settings, the scaler and the names.
    expect(saved.adam === null ? saved.optimizer!.kind : 'adam').toBe(kind);
    expect(saved.runState!.earlyStopping).toMatchObject({ bestEpoch: expect.any(Number), wait: expect.any(Number) });
    expect(saved.runState!.bestWeights).toBeInstanceOf(Float32Array);
    expect(saved.runState!.scheduler !== null).toBe(kind === 'adam');
    expect(saved.settings.table).toMatchObject({ task: 'classify', target: 'diagnosis', validation: 0.2, standardize: true, earlyStop: 2, rows: 284 });
    expect(saved.network).toMatchObject({ classNames: ['benign', 'malignant'], targetNames: ['diagnosis'], inputMean: expect.any(Array) });

    // Only --data and --resume: everything else comes from the checkpoint.
    const output = at(`${kind}-resumed-${position.epoch}.safetensors`);
    const resumed = await captureConsole(() => main(['train', '--data', table, '--resume', checkpoint, '--backend', 'cpu', '--log-every', '1', '--plain', '--output', output]));
    expect(resumed.stderr.join('\n')).toContain(`fcnet: resuming ${checkpoint} at epoch ${position.epoch + 1}, step ${position.step + 1} of ${STEPS}`);
    expect(resumed.result).toBe(0);
    expect(readFileSync(output)).toEqual(readFileSync(at(`${kind}-whole.safetensors`)));
    expect(resumed.stdout[resumed.stdout.length - 1]).toBe(whole.stdout[whole.stdout.length - 1]); // the accuracy line
  });
});

test('--checkpoint-every N saves every N steps; after an early stop the checkpoint is the run\'s end, and resuming it trains nothing', async () => {
  const checkpoint = at('every.ckpt');
  const { error, stderr } = await captureConsole(() => trainCommand([...runs.sgd, '--checkpoint', checkpoint, '--checkpoint-every', '7', '--output', at('every.safetensors')]));
  expect(error).toBeUndefined();
  const stoppedAfter = Number(/early stop after epoch (\d+)/.exec(stderr.join('\n'))![1]);
  const end = loadTrainingCheckpoint(checkpoint);
  expect(end.position).toMatchObject({ epoch: stoppedAfter, step: 0 });
  expect(end.runState!.earlyStopping!.wait).toBe(2);
  const again = await captureConsole(() => main(['train', '--data', table, '--resume', checkpoint, '--backend', 'cpu', '--plain', '--output', at('again.safetensors')]));
  expect(again.result).toBe(0);
  expect(again.stderr.join('\n')).toContain(`fcnet: ${checkpoint} is the end of its run (stopped early after epoch ${stoppedAfter}); nothing left to train`);
  expect(again.stdout.filter((line) => line.startsWith('Epoch ['))).toEqual([]);
  expect(readFileSync(at('again.safetensors'))).toEqual(readFileSync(at('every.safetensors')));
});

test('a resumed table run refuses a setting that differs from its checkpoint, and a changed table', async () => {
  const checkpoint = at('sgd-1.ckpt'); // from the runs above
  const asked = async (...flags: string[]) => captureConsole(() => main(['train', '--data', table, '--resume', checkpoint, ...flags]));
  const optimizer = await asked('--optimizer', 'adam');
  expect(optimizer.result).toBe(2);
  expect(optimizer.stderr).toEqual([`fcnet train: --optimizer adam conflicts with ${checkpoint}, whose run has optimizer sgd; leave --optimizer out to continue that run as it was\n${helpHint}`]);
  expect((await asked('--validation', '0.3')).stderr).toEqual([`fcnet train: --validation 0.3 conflicts with ${checkpoint}, whose run has validation 0.2; leave --validation out to continue that run as it was\n${helpHint}`]);
  expect((await asked('--lr-schedule', 'cosine')).stderr).toEqual([`fcnet train: --lr-schedule cosine conflicts with ${checkpoint}, whose run has lr-schedule none; leave --lr-schedule out to continue that run as it was\n${helpHint}`]);

  const changed = at('changed.csv');
  const lines = readFileSync(table, 'utf8').split('\n');
  lines[1] = lines[1].replace(/^[^,]+/, '10.45');
  writeFileSync(changed, lines.join('\n'));
  const other = await captureConsole(() => main(['train', '--data', changed, '--resume', checkpoint, '--backend', 'cpu', '--output', at('x.safetensors')]));
  expect(other.result).toBe(1);
  expect(other.stderr).toEqual([expect.stringMatching(new RegExp(`^fcnet train: ${changed}: not the table ${checkpoint} was trained on \\(it has 284 rows with fingerprint [0-9a-f]{8}; the run's had 284 rows with [0-9a-f]{8}\\): resume with that table as it was$`))]);

  // The columns are picked by name: the same table with its columns in another order continues the run.
  const reordered = at('reordered.csv');
  const cells = readFileSync(table, 'utf8').trim().split('\n').map((l) => l.split(','));
  writeFileSync(reordered, cells.map((row) => [...row].reverse().join(',')).join('\n') + '\n');
  copyFileSync(checkpoint, at('copy.ckpt'));
  const same = await captureConsole(() => main(['train', '--data', reordered, '--resume', at('copy.ckpt'), '--backend', 'cpu', '--plain', '--output', at('reordered.safetensors')]));
  expect(same.result).toBe(0);
  expect(readFileSync(at('reordered.safetensors'))).toEqual(readFileSync(at('sgd-whole.safetensors')));
});

test('an IDX run\'s checkpoint is not resumed on a table, nor a table\'s on IDX files', async () => {
  const idx = at('idx');
  mkdirSync(idx);
  const rng = new Rng(7);
  writeIdxFolder(idx, 8, syntheticDigits(40, rng, 8), syntheticDigits(10, rng, 8));
  const idxRun = await captureConsole(() => trainCommand(['--data', idx, '--epochs', '1', '--batch-size', '20', '--hidden', '8', '--backend', 'cpu', '--checkpoint', at('idx.ckpt'), '--output', at('idx.safetensors')]));
  expect(idxRun.error).toBeUndefined();
  const onTable = await captureConsole(() => main(['train', '--data', table, '--resume', at('idx.ckpt')]));
  expect(onTable.result).toBe(2);
  expect(onTable.stderr).toEqual([`fcnet train: ${at('idx.ckpt')} is an IDX run's checkpoint: resume it with --data naming the IDX folder\n${helpHint}`]);
  const onIdx = await captureConsole(() => main(['train', '--data', idx, '--resume', at('sgd-1.ckpt')]));
  expect(onIdx.result).toBe(2);
  expect(onIdx.stderr).toEqual([`fcnet train: ${at('sgd-1.ckpt')} is a table's run (--data FILE --target diagnosis): resume it with --data naming that table\n${helpHint}`]);
});

test('--from-disk (features read batch by batch from a .npy): stopped and resumed, the same weights file; other targets are refused', async () => {
  const N = 150, D = 6;
  const x = Float32Array.from({ length: N * D }, (_, i) => Math.sin(i * 0.37) * 2);
  const y = Int32Array.from({ length: N }, (_, r) => (x[r * D] + x[r * D + 1] > 0 ? 1 : 0));
  writeNpy(at('x.npy'), '<f4', [N, D], x);
  writeNpy(at('y.npy'), '<i4', [N], y);
  const run = ['--data', at('x.npy'), '--target', at('y.npy'), '--from-disk', '--hidden', '8', '--epochs', '3', '--batch-size', '16', '--optimizer', 'adamw',
    '--lr', '0.01', '--backend', 'cpu', '--log-every', '1', '--plain'];
  const whole = await captureConsole(() => trainCommand([...run, '--output', at('disk-whole.safetensors')]));
  expect(whole.error).toBeUndefined();
  const stopped = await stoppedRun([...run, '--checkpoint', at('disk.ckpt'), '--output', at('unused.safetensors')], 'Epoch [2/3], Step [4/10]');
  expect(stopped.error?.message).toBe(`interrupted after epoch 2, step 4; saved ${at('disk.ckpt')}: continue with --resume ${at('disk.ckpt')}`);
  // --from-disk comes from the checkpoint too.
  const resumed = await captureConsole(() => main(['train', '--data', at('x.npy'), '--resume', at('disk.ckpt'), '--backend', 'cpu', '--output', at('disk-resumed.safetensors')]));
  expect(resumed.result).toBe(0);
  expect(readFileSync(at('disk-resumed.safetensors'))).toEqual(readFileSync(at('disk-whole.safetensors')));
  // The fingerprint covers the targets (the features stay on disk): other labels are another table.
  y[0] = 1 - y[0];
  writeNpy(at('y2.npy'), '<i4', [N], y);
  const other = await captureConsole(() => main(['train', '--data', at('x.npy'), '--target', at('y2.npy'), '--from-disk', '--resume', at('disk.ckpt'), '--backend', 'cpu', '--output', at('x.safetensors')]));
  expect(other.stderr).toEqual([`fcnet train: --target ${at('y2.npy')} conflicts with ${at('disk.ckpt')}, whose run has target ${at('y.npy')}; leave --target out to continue that run as it was\n${helpHint}`]);
  copyFileSync(at('y2.npy'), at('y.npy'));
  const changed = await captureConsole(() => main(['train', '--data', at('x.npy'), '--target', at('y.npy'), '--from-disk', '--resume', at('disk.ckpt'), '--backend', 'cpu', '--output', at('x.safetensors')]));
  expect(changed.result).toBe(1);
  expect(changed.stderr[0]).toMatch(/: not the table .* was trained on \(it has 150 rows with fingerprint [0-9a-f]{8}; the run's had 150 rows with [0-9a-f]{8}\): resume with that table as it was$/);
});

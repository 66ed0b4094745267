// What `fcnet train` (and eval, bench) will write is checked before the work, not after a run is lost: --output,
// --checkpoint, --plots (the folder exists and takes files, no folder where a file is meant, the name short
// enough for the temporary file beside it); the test set fits the network before training starts.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../lib/cli/main';
import { Rng } from '../lib/rng';
import { captureConsole } from './support/console-capture';
import { idxBytes, syntheticDigits, writeIdxFolder } from './support/idx-folder';

const SIDE = 8;
let folder: string;
let data: string;
const at = (name: string): string => join(folder, name);
const small = ['--epochs', '1', '--batch-size', '16', '--hidden', '16', '--backend', 'cpu', '--plain'];

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'fcnet-cli-outputs-'));
  data = at('data');
  mkdirSync(data);
  const rng = new Rng(5);
  writeIdxFolder(data, SIDE, syntheticDigits(100, rng, SIDE), syntheticDigits(20, rng, SIDE));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** `fcnet ARGS` in-process: its exit code and what it printed. Nothing may reach stdout: no step was trained. */
async function refused(...args: string[]): Promise<string[]> {
  const { result, stdout, stderr } = await captureConsole(() => main(args));
  expect(stdout).toEqual([]);
  expect(result).toBe(1);
  return stderr;
}

const longName = 'm'.repeat(240) + '.safetensors'; // 252 bytes: a legal name, but not its temporary file's

describe('fcnet train checks its outputs before loading MNIST', () => {
  // --data names a folder that does not exist: had MNIST been loaded first, that would be the error.
  const train = (...args: string[]) => refused('train', '--data', at('nowhere'), ...small, ...args);

  test('--output in a folder that does not exist', async () => {
    expect(await train('--output', at('missing/model.safetensors'))).toEqual([`fcnet train: --output ${at('missing/model.safetensors')}: the folder ${at('missing')} does not exist`]);
  });

  test('--output that is a folder', async () => {
    expect(await train('--output', folder)).toEqual([`fcnet train: --output ${folder} is a folder; name a file (e.g. ${join(folder, 'model.safetensors')})`]);
  });

  test('--output under a file', async () => {
    writeFileSync(at('plain-file'), '');
    expect(await train('--output', at('plain-file/model.safetensors'))).toEqual([`fcnet train: --output ${at('plain-file/model.safetensors')}: ${at('plain-file')} is not a folder`]);
  });

  test('--output whose name leaves no room for the temporary file beside it', async () => {
    const [message] = await train('--output', at(longName));
    expect(message).toBe(
      `fcnet train: --output ${at(longName)}: the name is too long: fcnet saves through a temporary file beside it, .${longName}.<pid>.<random>.tmp, which the file system refuses; choose a shorter name`,
    );
  });

  test('--checkpoint, the same checks', async () => {
    expect(await train('--checkpoint', at('missing/run.ckpt'))).toEqual([`fcnet train: --checkpoint ${at('missing/run.ckpt')}: the folder ${at('missing')} does not exist`]);
    expect(await train('--checkpoint', folder)).toEqual([`fcnet train: --checkpoint ${folder} is a folder; name a file (e.g. ${join(folder, 'model.safetensors')})`]);
  });

  test('--plots that is a file, or under one', async () => {
    writeFileSync(at('plots.svg'), '');
    expect(await train('--plots', at('plots.svg'))).toEqual([`fcnet train: --plots ${at('plots.svg')} is a file, not a folder`]);
    expect(await train('--plots', at('plots.svg/more'))).toEqual([`fcnet train: --plots ${at('plots.svg/more')}: ${at('plots.svg')} is a file, so the folder cannot be made`]);
  });

  const root = process.getuid?.() === 0;
  (root ? test.skip : test)('a folder that does not take files (skipped as root, who may write anywhere)', async () => {
    const locked = at('read-only');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    try {
      expect(await train('--output', join(locked, 'model.safetensors'))).toEqual([`fcnet train: --output ${join(locked, 'model.safetensors')}: cannot write into ${locked} (EACCES)`]);
    } finally {
      chmodSync(locked, 0o700);
    }
  });

  test('the checks leave no file behind', () => {
    expect(readdirSync(folder).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('the test set is checked before training', () => {
  test('a label outside the network\'s classes', async () => {
    const bad = at('bad-labels');
    mkdirSync(bad);
    const rng = new Rng(6);
    const test = syntheticDigits(20, rng, SIDE);
    test.labels[7] = 12;
    writeIdxFolder(bad, SIDE, syntheticDigits(100, rng, SIDE), test);
    const [message] = await refused('train', '--data', bad, ...small, '--output', at('never.safetensors'));
    expect(message).toBe(`fcnet train: MNIST test set (${bad}): label 12 of image 7 is outside the network's 10 classes (0..9)`);
  });

  test('test images of another size than the training images', async () => {
    const odd = at('odd-sizes');
    mkdirSync(odd);
    const rng = new Rng(7);
    writeIdxFolder(odd, SIDE, syntheticDigits(100, rng, SIDE), syntheticDigits(20, rng, SIDE));
    writeFileSync(join(odd, 't10k-images-idx3-ubyte'), idxBytes([20, 4, 4], syntheticDigits(20, rng, 4).images));
    const [message] = await refused('train', '--data', odd, ...small, '--output', at('never.safetensors'));
    expect(message).toBe(`fcnet train: MNIST test set (${odd}): the test images are 4×4 but the training images 8×8`);
  });
});

test('fcnet eval --plots and fcnet bench --json check their outputs before the work', async () => {
  writeFileSync(at('a-file'), '');
  expect(await refused('eval', 'model.safetensors', '--plots', at('a-file'))).toEqual([`fcnet eval: --plots ${at('a-file')} is a file, not a folder`]);
  expect(await refused('bench', '--json', at('missing/results.json'))).toEqual([`fcnet bench: --json ${at('missing/results.json')}: the folder ${at('missing')} does not exist`]);
});

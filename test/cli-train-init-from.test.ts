// `fcnet train --init-from FILE`: training that starts from PyTorch's general checkpoint (an nn.Sequential's
// state_dict and torch.optim.Adam's state, written by PyTorch 1.13), on a small MNIST-shaped folder of 4×4 images.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrainingCheckpoint, readModelWeights, readSafetensorsFile } from '../lib/checkpoint';
import { main } from '../lib/cli/main';
import { Rng } from '../lib/rng';
import { captureConsole } from './support/console-capture';
import { syntheticDigits, writeIdxFolder } from './support/idx-folder';

const SIDE = 4;
const start = join(__dirname, 'fixtures', 'layouts', 'init-from-16-8-10.pt');

let folder: string;
const at = (name: string): string => join(folder, name);
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'fcnet-init-from-'));
  const rng = new Rng(5);
  writeIdxFolder(folder, SIDE, syntheticDigits(64, rng, SIDE), syntheticDigits(20, rng, SIDE));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const train = (...argv: string[]) => captureConsole(() => main(['train', '--data', folder, '--epochs', '1', '--batch-size', '16', '--backend', 'js', '--plain', ...argv]));

test("starts from the file's weights, Adam's moments and step, and saves under the file's layer names", async () => {
  const { result, stderr } = await train('--init-from', start, '--output', at('out.safetensors'), '--checkpoint', at('run.ckpt'));
  expect(result).toBe(0);
  expect(stderr).toContain(
    `fcnet: starting from ${start}: its weights and Adam's moments at step 2 (not PyTorch's exact continuation: the batches come in another order)`,
  );
  const saved = readSafetensorsFile(at('out.safetensors'));
  expect(Object.keys(saved.tensors)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  expect(JSON.parse(saved.metadata.fcnet)).toEqual({ format: 1, layers: ['0', '2'] });
  const before = readModelWeights(start).parameters['0.weight'].data;
  expect(saved.tensors['0.weight'].data).not.toEqual(before); // it trained
  // The training checkpoint keeps fcnet's own layout (fc1, fc2) and Adam's step: 2 from the file + 4 steps of 16.
  const checkpoint = loadTrainingCheckpoint(at('run.ckpt'));
  expect(checkpoint.sizes).toEqual([16, 8, 10]);
  expect(checkpoint.adam.state[0].step).toBe(6);
  expect(checkpoint.adam.param_groups[0].lr).toBe(0.005); // the file's lr, as --lr was not given
});

test('--standard-names saves the layers as fc1, fc2, ... with the same values', async () => {
  const { result } = await train('--init-from', start, '--output', at('std.safetensors'), '--standard-names');
  expect(result).toBe(0);
  const saved = readSafetensorsFile(at('std.safetensors'));
  expect(Object.keys(saved.tensors)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
  expect(saved.tensors['fc1.weight'].shape).toEqual([8, 16]);
  expect(saved.metadata.fcnet).toBeUndefined();
});

test('--lr overrides the file\'s learning rate', async () => {
  const { result } = await train('--init-from', start, '--output', at('lr.safetensors'), '--checkpoint', at('lr.ckpt'), '--lr', '0.02');
  expect(result).toBe(0);
  expect(loadTrainingCheckpoint(at('lr.ckpt')).adam.param_groups[0].lr).toBe(0.02);
});

test('mistakes: --init-from with --resume, a different --hidden, --dropout, an unknown activation, a network that does not fit', async () => {
  const error = async (...argv: string[]) => {
    const { result, stderr } = await train(...argv);
    return { result, message: stderr.join('\n').replace(/\nRun `fcnet train --help` for the options\.$/, '') };
  };
  expect(await error('--init-from', start, '--resume', at('run.ckpt'))).toEqual({
    result: 2,
    message: "fcnet train: option '--init-from <file>' cannot be used with option '--resume <file>'",
  });
  expect(await error('--init-from', start, '--hidden', '32')).toEqual({
    result: 2,
    message: `fcnet train: --hidden 32 conflicts with ${start}, whose network has hidden widths 8; leave --hidden out`,
  });
  expect(await error('--init-from', start, '--dropout', '0.5')).toEqual({
    result: 2,
    message: 'fcnet train: --dropout cannot be combined with --init-from: the network comes from FILE',
  });
  expect(await error('--standard-names')).toEqual({
    result: 2,
    message: 'fcnet train: --standard-names needs --init-from FILE: fcnet names its own layers fc1, fc2, ... already',
  });
  expect(await error('--init-from', start, '--activation', 'swish')).toEqual({
    result: 2,
    message: "fcnet train: Expected one of 'relu', 'leaky_relu', 'tanh', 'sigmoid', 'gelu' for --activation but received 'swish'",
  });
  const small = join(__dirname, 'fixtures', 'layouts', 'sequential-0-2.pt');
  expect(await error('--init-from', small)).toEqual({ result: 1, message: `fcnet train: ${small} holds a 5-4-3 network but the IDX files need 16 inputs and 10 outputs` });
});

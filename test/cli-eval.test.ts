// `fcnet eval MODEL`: the reference network's examples/model.ckpt scores what PyTorch measured on MNIST's
// 10,000 test images (examples/train_pytorch_output.txt), and the same weights saved as fcnet safetensors or in a training checkpoint score the same.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam } from '../lib/adam';
import { readModelWeights, readTorchCheckpoint, saveTrainingCheckpoint, writeSafetensorsFile } from '../lib/checkpoint';
import { evalCommand } from '../lib/cli/eval';
import { UsageError } from '../lib/cli/args';
import { MLP } from '../lib/model';
import { captureConsole } from './support/console-capture';
import { referenceCheckpoint, referenceCheckpointAccuracy } from './support/fixtures-dir';

const PYTORCH_ACCURACY = referenceCheckpointAccuracy(); // what scripts/reference/train_pytorch.py printed

let folder: string;
beforeAll(() => (folder = mkdtempSync(join(tmpdir(), 'fcnet-eval-'))));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function evalJson(...argv: string[]): Promise<{ accuracy: number; loss: number; n: number }> {
  const { stdout, error } = await captureConsole(() => evalCommand([...argv, '--json']));
  if (error) throw error;
  expect(stdout).toHaveLength(1); // exactly one line: a script can JSON.parse the whole output
  return JSON.parse(stdout[0]);
}

const evalError = async (...argv: string[]): Promise<Error> => {
  const { error } = await captureConsole(() => evalCommand(argv));
  if (!error) throw new Error(`fcnet eval ${argv.join(' ')} succeeded`);
  return error;
};

describe("the reference network's examples/model.ckpt (PyTorch)", () => {
  const referenceModel = referenceCheckpoint;

  /** Its --json result on cpu, which the other formats must match exactly. */
  let onCpu: { accuracy: number; loss: number; n: number };
  beforeAll(async () => (onCpu = await evalJson(referenceModel, '--backend', 'cpu')));

  describe('scores what PyTorch measured', () => {
    test.each(['cpu', 'js'])('--json on %s: the accuracy PyTorch measured on the 10,000 test images', async (backend) => {
      const result = backend === 'cpu' ? onCpu : await evalJson(referenceModel, '--backend', backend);
      expect(result.n).toBe(10000);
      expect(Math.abs(result.accuracy - PYTORCH_ACCURACY)).toBeLessThanOrEqual(0.0002);
      expect(result.loss).toBeGreaterThan(0.01);
      expect(result.loss).toBeLessThan(0.2);
    });

    test("prints the reference program's accuracy line and the mean loss", async () => {
      const { stdout, stderr, error } = await captureConsole(() => evalCommand([referenceModel, '--backend', 'cpu']));
      expect(error).toBeUndefined();
      expect(stdout).toHaveLength(2);
      const accuracy = Number(/^Accuracy of the network on the 10000 test images: ([\d.]+) %$/.exec(stdout[0])?.[1]);
      expect(Math.abs(accuracy - 100 * PYTORCH_ACCURACY)).toBeLessThanOrEqual(0.02);
      expect(stdout[1]).toMatch(/^Mean loss \(cross-entropy\) on the test images: 0\.\d{4}$/);
      expect(stderr).toEqual([
        `fcnet: evaluating 784-500-10 from ${referenceModel} (PyTorch checkpoint; ReLU between layers (assumed: a state_dict does not record the activation)) on cpu`,
      ]);
    });
  });

  describe('the same weights in the other formats score the same', () => {
    test('fcnet safetensors (what fcnet train saves)', async () => {
      const path = join(folder, 'model.safetensors');
      writeSafetensorsFile(path, readTorchCheckpoint(referenceModel), { format: 'pt', producer: 'fcnet' });
      expect(readModelWeights(path).format).toBe('safetensors');
      expect(await evalJson(path, '--backend', 'cpu')).toEqual(onCpu);
    });

    test('a training checkpoint', async () => {
      const model = new MLP({ backend: 'cpu' });
      model.loadStateDict(readTorchCheckpoint(referenceModel));
      const path = join(folder, 'run.ckpt');
      saveTrainingCheckpoint(path, model, new Adam(model), { epoch: 5, step: 0, rngState: [1, 2, 3, 4] }, { epochs: 5, batchSize: 100, seed: 0, lr: 0.001, hidden: [500] });
      expect(await evalJson(path, '--backend', 'cpu')).toEqual(onCpu);
    });
  });
});

describe('mistakes', () => {
  test('no MODEL, or two', async () => {
    const none = await evalError();
    expect(none).toBeInstanceOf(UsageError);
    expect(none.message).toBe("missing required argument 'MODEL'");
    expect((await evalError('model.ckpt', 'other')).message).toBe("too many arguments for 'eval'. Expected 1 argument but got 2.");
  });

  test('a file that is not there', async () => {
    const path = join(folder, 'missing.ckpt');
    expect((await evalError(path)).message).toBe(`Cannot read ${path}: ENOENT: no such file or directory, open '${path}'`);
  });

  test('a file that is neither safetensors nor a PyTorch zip', async () => {
    const path = join(folder, 'notes.txt');
    writeFileSync(path, 'just some text, long enough for a header length');
    expect((await evalError(path)).message).toBe(`${path}: neither a safetensors file nor a PyTorch checkpoint (torch.save's zip archive or legacy file)`);
  });

  test("PyTorch's legacy format cut short inside its magic number", async () => {
    const path = join(folder, 'legacy.pt');
    writeFileSync(path, Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8]));
    expect((await evalError(path)).message).toBe(
      `${path}: is a pickle but not one torch.save wrote (no zip archive, no legacy magic number); save the weights with torch.save(model.state_dict(), path)`,
    );
  });

  test('weights that are not an MLP of fc layers', async () => {
    const path = join(folder, 'conv.safetensors');
    writeSafetensorsFile(path, { 'conv1.weight': { shape: [4, 1, 3, 3], data: new Float32Array(36) } });
    expect((await evalError(path)).message).toBe(
      `${path}: tensor 'conv1.weight' has shape [4, 1, 3, 3], a convolution's weight; fcnet runs chains of Linear layers only (a fully connected network)`,
    );
  });

  test('layers that do not chain', async () => {
    const path = join(folder, 'broken.safetensors');
    const t = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    writeSafetensorsFile(path, { 'fc1.weight': t([500, 784]), 'fc1.bias': t([500]), 'fc2.weight': t([10, 400]), 'fc2.bias': t([10]) });
    expect((await evalError(path)).message).toBe(
      `${path}: its Linear layers do not form a chain: 'fc2' takes 400 inputs but 'fc1' gives 500 outputs (weights, (outputs, inputs): fc1 [500, 784], fc2 [10, 400])`,
    );
    writeSafetensorsFile(path, { 'fc1.weight': t([500, 784]), 'fc1.bias': t([500]), 'fc2.weight': t([10, 500]), 'fc2.bias': t([10]), 'fc2.scale': t([1]) });
    expect((await evalError(path)).message).toBe(
      `${path}: unexpected tensor 'fc2.scale' (shape [1]): fcnet reads the weight/bias pairs of Linear layers and nothing else`,
    );
    writeSafetensorsFile(path, { 'fc1.weight': t([500, 784]) });
    expect((await evalError(path)).message).toBe(
      `${path}: missing tensor 'fc1.bias': the layer was made with bias=False, and fcnet's layers all have biases; add a zero bias (torch.zeros(500)) under that name`,
    );
  });

  test('a network whose inputs are not the test images', async () => {
    const path = join(folder, 'small.safetensors');
    const t = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    writeSafetensorsFile(path, { 'fc1.weight': t([16, 64]), 'fc1.bias': t([16]), 'fc2.weight': t([10, 16]), 'fc2.bias': t([10]) });
    expect((await evalError(path)).message).toBe(`${path} holds a network with 64 inputs but the test images have 784 pixels (28×28)`);
  });
});

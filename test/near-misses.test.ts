// Refusals that say what was meant (issue 16): the common near-misses of a valid input, drawn from the issue
// trackers of PyTorch, TensorFlow.js and brain.js (docs/checkpoints.md cites each thread). Each message names the
// likely cause and the fix. PyTorch 1.13 wrote the files (test/fixtures-gen/make-layout-fixtures.py).
import { join } from 'node:path';
import { Adam } from '../lib/adam';
import { readModelWeights } from '../lib/checkpoint';
import { createDataset } from '../lib/data/dataset';
import { MLP } from '../lib/model';
import { fit } from '../lib/train';

const fixture = (name: string): string => join(__dirname, 'fixtures', 'layouts', name);
const refusal = (name: string): string => {
  try {
    readModelWeights(fixture(name));
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${name} was read`);
};
const notesOf = (name: string): string[] => readModelWeights(fixture(name)).notes;

describe('checkpoints', () => {
  test('a whole pickled module (torch.save(model)) instead of its state_dict', () => {
    expect(refusal('whole-module.pt')).toBe(
      `Refusing to load ${fixture('whole-module.pt')}: pickle global '__main__ Net' is not allowed: the file holds a whole pickled module (torch.save(model)), and loading one runs its class's code; save its weights with torch.save(model.state_dict(), path)`,
    );
  });

  test('a TorchScript archive (torch.jit.save)', () => {
    expect(refusal('torchscript.pt')).toBe(
      `${fixture('torchscript.pt')}: is a TorchScript archive (torch.jit.save), a program rather than a state_dict; save the weights with torch.save(model.state_dict(), path)`,
    );
  });

  test("an optimizer's state_dict instead of the model's", () => {
    expect(refusal('optimizer-only.pt')).toBe(
      `${fixture('optimizer-only.pt')}: the file holds an optimizer's state_dict (state, param_groups), not the model's: save the weights with torch.save(model.state_dict(), path)`,
    );
  });

  test('a checkpoint dict holding two state_dicts, neither under a conventional key', () => {
    expect(refusal('two-models.pt')).toBe(
      `${fixture('two-models.pt')}: the dict holds 2 state_dicts ('generator', 'discriminator') and none under a conventional key (model_state_dict, state_dict, model, net, network, model_state, weights, params): save the one you mean on its own, e.g. torch.save(checkpoint['generator'], path)`,
    );
  });

  test('a bare tensor (torch.save(tensor))', () => {
    expect(refusal('bare-tensor.pt')).toBe(
      `${fixture('bare-tensor.pt')}: the file holds a single tensor (torch.save(tensor)), not a state_dict (a dict of tensors): save one with torch.save(model.state_dict(), path)`,
    );
  });

  test('numpy values saved beside the weights', () => {
    expect(refusal('numpy-in-checkpoint.pt')).toBe(
      `Refusing to load ${fixture('numpy-in-checkpoint.pt')}: pickle global 'numpy.core.multiarray scalar' is not allowed: the file holds numpy values (a loss or an accuracy saved as numpy.float64, ...) beside the weights; save them as Python numbers (float(x)) or save only model.state_dict()`,
    );
  });

  test("the script's argparse.Namespace saved beside the weights", () => {
    expect(refusal('argparse-in-checkpoint.pt')).toBe(
      `Refusing to load ${fixture('argparse-in-checkpoint.pt')}: pickle global 'argparse Namespace' is not allowed: the file holds the script's argparse.Namespace beside the weights; save vars(args), a dict, or only model.state_dict()`,
    );
  });

  test("wrapper prefixes ('module.' of DataParallel, '_orig_mod.' of torch.compile) are read, and said", () => {
    expect(notesOf('data-parallel.pt')).toEqual([
      "the names carry the 'module.' prefix of nn.DataParallel (or DistributedDataParallel), kept when saving; load them into the bare model with {k.removeprefix('module.'): v for k, v in state_dict.items()}",
    ]);
    expect(notesOf('compiled-prefix.pt')).toEqual([
      "the names carry the '_orig_mod.' prefix of torch.compile, kept when saving; load them into the bare model with {k.removeprefix('_orig_mod.'): v for k, v in state_dict.items()}",
    ]);
  });

  test('a convolutional network', () => {
    expect(refusal('conv-net.pt')).toBe(
      `${fixture('conv-net.pt')}: tensor '0.weight' has shape [2, 1, 3, 3], a convolution's weight; fcnet runs chains of Linear layers only (a fully connected network)`,
    );
  });

  test('a BatchNorm layer between the Linear layers', () => {
    expect(refusal('batchnorm.pt')).toBe(
      `${fixture('batchnorm.pt')}: tensor '1.weight' has shape [4], the weight of a normalisation layer (BatchNorm, LayerNorm); fcnet runs chains of Linear layers only`,
    );
  });

  test('a Linear layer made with bias=False', () => {
    expect(refusal('no-bias.pt')).toBe(
      `${fixture('no-bias.pt')}: missing tensor '0.bias': the layer was made with bias=False, and fcnet's layers all have biases; add a zero bias (torch.zeros(4)) under that name`,
    );
  });

  test('Linear layers that do not chain', () => {
    expect(refusal('not-a-chain.pt')).toBe(
      `${fixture('not-a-chain.pt')}: its Linear layers do not form a chain: 'b' takes 6 inputs but 'a' gives 4 outputs (weights, (outputs, inputs): a [4, 5], b [3, 6])`,
    );
  });
});

describe('datasets', () => {
  const pixels = Uint8Array.from({ length: 12 }, (_, i) => i * 20); // three 2×2 images

  test('one-hot labels (to_categorical, tf.oneHot) instead of class indices', () => {
    expect(() => createDataset(pixels, [1, 0, 0, 0, 1, 0, 0, 0, 1], [2, 2], 'd')).toThrow(
      new RangeError('d: 3 images but 9 labels; the counts must agree; the labels look one-hot encoded (3 rows of 3 zeros and a one, as to_categorical or tf.oneHot make them): pass each row\'s class index instead (the position of its 1)'),
    );
  });

  test('labels read as text from a CSV file', () => {
    expect(() => createDataset(pixels, ['0', '7', '1'] as unknown as number[], [2, 2])).toThrow(
      new RangeError("Expected a class index (integer ≥ 0) for labels[0] but received '0' of type string: labels read from a CSV or JSON file are text: convert them with Number(label)"),
    );
    expect(() => createDataset(pixels, ['cat', 'dog', 'cat'] as unknown as number[], [2, 2])).toThrow(
      new RangeError("Expected a class index (integer ≥ 0) for labels[0] but received 'cat' of type string: class names must be numbered: map each name to its index (0, 1, ...) and keep the list to read predictions back"),
    );
  });

  test('probabilities instead of class indices', () => {
    expect(() => createDataset(pixels, [0, 0.9, 1], [2, 2])).toThrow(
      new RangeError('Expected a class index (integer ≥ 0) for labels[1] but received 0.9: labels are class indices, not probabilities or scores: pass the index of the true class'),
    );
  });

  test('classes numbered from 1', async () => {
    const model = new MLP({ sizes: [4, 3], backend: 'js' });
    const data = createDataset(pixels, [1, 3, 2], [2, 2], 'three images');
    await expect(fit(model, new Adam(model), data, { epochs: 1, batchSize: 1 })).rejects.toThrow(
      new RangeError("three images: label 3 of image 1 is outside the network's 3 classes (0..2); the labels run from 1 to 3: class indices start at 0, so subtract 1 from each"),
    );
  });

  test('pixels scaled to 0..1 given as a dataset of floats', () => {
    expect(() => createDataset(Float32Array.from(pixels, (v) => v / 255) as unknown as Uint8Array, [0, 1, 2], [2, 2])).toThrow(
      new TypeError('Expected Uint8Array of pixels 0..255 for images but received Float32Array: pixels scaled to 0..1 go back to bytes with Uint8Array.from(x, (v) => Math.round(v * 255))'),
    );
  });

  test('raw 0..255 pixels given to logits', () => {
    const model = new MLP({ sizes: [4, 3], backend: 'js' });
    expect(() => model.logits(Float32Array.of(0, 255, 0, 0), 1)).toThrow(
      new RangeError('Expected number from 0 to 1 (pixels / 255, as in training) for x[1] but received 255 of type number'),
    );
  });
});

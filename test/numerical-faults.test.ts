// Numerical faults are refused up front with a message that says where, never trained on or answered with garbage:
// inputs outside [0, 1] or not finite, labels outside the classes, non-finite weights and hyper-parameters; a loss that
// turns non-finite mid-run stops training before that update (or skips it, when asked).
import { Adam } from '../lib/adam';
import { createDataset } from '../lib/data/dataset';
import { MLP } from '../lib/model';
import { fit } from '../lib/train';

const sizes = [4, 3, 2];
const pixels = Uint8Array.of(0, 255, 10, 0, 3, 0, 0, 200, 0, 0, 9, 1);

describe('inputs', () => {
  test('logits takes x in [0, 1], pixels / 255 as in training; NaN, ±Infinity and raw pixel values are refused', () => {
    const model = new MLP({ sizes, backend: 'cpu' });
    expect(model.logits(Float32Array.of(0, 1, 0.5, 0, 1, 1, 0, 0), 2)).toHaveLength(4);
    const bad: Array<[number, string]> = [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [255, '255'], [-0.5, '-0.5'], [1.0001, '1.000100016593933']];
    for (const [value, shown] of bad) {
      const x = Float32Array.of(0, 1, 0.5, 0, 1, 1, 0, 0);
      x[5] = value;
      expect(() => model.logits(x, 2)).toThrow(new RangeError(`Expected number from 0 to 1 (pixels / 255, as in training) for x[5] but received ${shown} of type number`));
    }
  });

  test('training data are bytes, so in [0, 1] once scaled: anything but a Uint8Array of pixels is refused', () => {
    expect(() => createDataset(Float32Array.of(0.5, 2, NaN, 1) as unknown as Uint8Array, [0], [2, 2])).toThrow(
      new TypeError('Expected Uint8Array of pixels 0..255 for images but received Float32Array: pixels scaled to 0..1 go back to bytes with Uint8Array.from(x, (v) => Math.round(v * 255))'),
    );
    expect(() => createDataset(Array.from(pixels) as unknown as Uint8Array, [0, 1, 0], [2, 2])).toThrow(TypeError);
  });
});

describe('labels', () => {
  test('labels that are not class indices are refused when the dataset is made', () => {
    for (const [label, shown] of [[NaN, 'NaN'], [-1, '-1'], [1.5, '1.5'], [Infinity, 'Infinity']] as const) {
      expect(() => createDataset(pixels, [0, label, 1], [2, 2], 'd')).toThrow(
        new RangeError(`Expected a class index (integer ≥ 0) for labels[1] but received ${shown}`),
      );
    }
  });

  test('labels outside the network’s classes are refused before the first step, and the weights stay as they were', async () => {
    const model = new MLP({ sizes, backend: 'cpu' });
    const before = model.buffers.params.slice();
    const data = createDataset(pixels, [0, 1, 2], [2, 2], 'three images');
    await expect(fit(model, new Adam(model), data, { epochs: 1, batchSize: 1 })).rejects.toThrow(
      new RangeError("three images: label 2 of image 2 is outside the network's 2 classes (0..1)"),
    );
    expect(model.buffers.params).toEqual(before);
  });
});

describe('weights and hyper-parameters', () => {
  test('loadStateDict refuses a non-finite weight, naming the tensor and index', () => {
    const model = new MLP({ sizes, backend: 'js' });
    const state = model.stateDict();
    state['fc2.weight'].data[4] = NaN;
    expect(() => model.loadStateDict(state)).toThrow(new RangeError("loadStateDict: 'fc2.weight' holds NaN at index 4"));
  });

  test('Adam refuses a learning rate that is not a finite positive number', () => {
    const model = new MLP({ sizes, backend: 'js' });
    for (const lr of [NaN, Infinity, 0, -1]) expect(() => new Adam(model, { lr })).toThrow(/for lr but received/);
  });

  test.each(['cpu', 'js'] as const)('backend %s: a loss that turns non-finite mid-run stops at that step, before its update', async (backend) => {
    const model = new MLP({ sizes, backend, seed: 2 });
    const data = createDataset(pixels, [0, 1, 0], [2, 2], 'three images');
    const optimizer = new Adam(model);
    let poisoned = false;
    const run = fit(model, optimizer, data, {
      epochs: 2,
      batchSize: 1,
      shuffle: false,
      onStep: ({ epoch, step }) => {
        if (epoch === 0 && step === 1) {
          model.view('fc2.bias')[0] = Infinity; // as a diverging update would
          model.engine().upload();
          poisoned = true;
        }
      },
    });
    await expect(run).rejects.toThrow('fit: the loss is NaN at epoch 1, step 3; training stopped before that update (lower the learning rate, or check the data)');
    expect(poisoned).toBe(true);
    expect(optimizer.step).toBe(2);
  });
});

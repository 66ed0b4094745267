// `fcnet predict MODEL IMAGE`: real MNIST test digits written as PNG files, plainly, upscaled with the ink in
// the alpha channel, and inverted (black on white), all read back as the digit they are by the reference
// network's model (examples/model.ckpt); and the conversion to a 28×28 MNIST-like input checked on its own.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG, type ColorType } from 'pngjs';
import { predictCommand, softmax } from '../lib/cli/predict';
import { UsageError } from '../lib/cli/args';
import { writeSafetensorsFile } from '../lib/checkpoint';
import { loadMnistTestSet } from '../lib/data/mnist';
import { toMnistInput } from '../lib/image/mnist-input';
import { decodePng } from '../lib/image/read-png';
import { MLP } from '../lib/model';
import { captureConsole } from './support/console-capture';
import { referenceCheckpoint } from './support/fixtures-dir';

const test10k = loadMnistTestSet();
const SIDE = 28;
const DIGITS = [0, 1, 3]; // test images 7, 2 and 0

let folder: string;
beforeAll(() => (folder = mkdtempSync(join(tmpdir(), 'fcnet-predict-'))));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const mnistPixels = (index: number): Uint8Array => test10k.images.subarray(index * SIDE * SIDE, (index + 1) * SIDE * SIDE);

/** A PNG of `size`×`size` pixels whose RGBA value at (x, y) is `pixel(x, y)`, stored as `colorType`. */
function pngBytes(size: number, colorType: ColorType, pixel: (x: number, y: number) => [number, number, number, number]): Buffer {
  const png = new PNG({ width: size, height: size });
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) png.data.set(pixel(x, y), 4 * (y * size + x));
  return PNG.sync.write(png, { colorType });
}

const variants: Record<string, (digit: Uint8Array) => Buffer> = {
  // 8-bit greyscale, as MNIST itself.
  'grey 28×28': (d) => pngBytes(SIDE, 0, (x, y) => [d[y * SIDE + x], d[y * SIDE + x], d[y * SIDE + x], 255]),
  // Twice the size, RGBA: white paint whose opacity is the ink, over a transparent background.
  'RGBA 56×56, ink as opacity': (d) => pngBytes(2 * SIDE, 6, (x, y) => [255, 255, 255, d[(y >> 1) * SIDE + (x >> 1)]]),
  // Dark ink on white paper, RGB.
  'RGB, black on white': (d) => pngBytes(SIDE, 2, (x, y) => [255 - d[y * SIDE + x], 255 - d[y * SIDE + x], 255 - d[y * SIDE + x], 255]),
};

describe("read by the reference network's examples/model.ckpt", () => {
  const referenceModel = referenceCheckpoint;

  async function predictJson(image: string): Promise<{ digit: number; probabilities: number[]; inverted: boolean }> {
    const { stdout, error } = await captureConsole(() => predictCommand([referenceModel, image, '--json', '--backend', 'cpu']));
    if (error) throw error;
    expect(stdout).toHaveLength(1);
    return JSON.parse(stdout[0]);
  }

  describe.each(Object.keys(variants))('%s', (variant) => {
    test.each(DIGITS)('MNIST test image %i is read as its label', async (index) => {
      const path = join(folder, `${variant.replace(/\W+/g, '-')}-${index}.png`);
      writeFileSync(path, variants[variant](mnistPixels(index)));
      const { digit, probabilities, inverted } = await predictJson(path);
      expect(digit).toBe(test10k.labels[index]);
      expect(inverted).toBe(variant.includes('black on white'));
      expect(probabilities).toHaveLength(10);
      expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(probabilities[digit]).toBeGreaterThan(0.5);
    });
  });

  test('prints the digit and the ten probabilities', async () => {
    const path = join(folder, 'seven.png');
    writeFileSync(path, variants['grey 28×28'](mnistPixels(0)));
    const { stdout, error } = await captureConsole(() => predictCommand([referenceModel, path, '--backend', 'cpu']));
    expect(error).toBeUndefined();
    expect(stdout[0]).toMatch(/^Predicted digit: 7 \(probability [01]\.\d{4}\)$/);
    expect(stdout.slice(1)).toEqual(Array.from({ length: 10 }, (_, d) => expect.stringMatching(new RegExp(`^  ${d}: [01]\\.\\d{4}$`))));
  });
});

test('the MNIST-like input of every variant is the original digit', () => {
  const original = Array.from(mnistPixels(0));
  for (const variant of Object.keys(variants)) {
    const { pixels } = toMnistInput(decodePng(variants[variant](mnistPixels(0))));
    const worst = Math.max(...Array.from(pixels, (v, i) => Math.abs(v - original[i])));
    expect({ variant, exact: worst < 1e-9 }).toEqual({ variant, exact: true }); // names the variant when it fails
  }
});

describe('the conversion to a 28×28 MNIST-like input', () => {
  const image = (width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]) => {
    const rgba = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgba.set(pixel(x, y), 4 * (y * width + x));
    return { width, height, rgba };
  };

  test('grey is ITU-R BT.601 luma, composited by alpha over a white page when what is drawn is dark', () => {
    const { pixels, page, inverted } = toMnistInput(image(1, 1, () => [200, 100, 50, 51]));
    const luma = 0.299 * 200 + 0.587 * 100 + 0.114 * 50; // 124.6: dark
    expect([page, inverted]).toEqual([255, true]);
    expect(pixels[0]).toBeCloseTo(255 - (luma * 0.2 + 255 * 0.8), 10);
  });

  test('and over black when what is drawn is light, which white would hide', () => {
    const { pixels, page, inverted } = toMnistInput(image(1, 1, () => [250, 200, 150, 51]));
    expect([page, inverted]).toEqual([0, false]);
    expect(pixels[0]).toBeCloseTo((0.299 * 250 + 0.587 * 200 + 0.114 * 150) * 0.2, 10);
  });

  test('area averaging: a 56×56 checkerboard of 0 and 254 becomes 127 everywhere, and is not inverted', () => {
    const { pixels, inverted } = toMnistInput(image(56, 56, (x, y) => ((x + y) % 2 ? [254, 254, 254, 255] : [0, 0, 0, 255])));
    expect(inverted).toBe(false); // the mean, 127, is not above 127
    expect(Array.from(pixels).every((v) => Math.abs(v - 127) < 1e-9)).toBe(true);
  });

  test('dark on light (mean above 127) is inverted', () => {
    const { pixels, inverted } = toMnistInput(image(2, 1, (x) => (x ? [255, 255, 255, 255] : [2, 2, 2, 255])));
    expect(inverted).toBe(true);
    expect(pixels[0]).toBeCloseTo(253, 9);
    expect(pixels[SIDE - 1]).toBeCloseTo(0, 9);
  });

  test('a 3×3 picture spreads each pixel over 28/3 output pixels, keeping the mean', () => {
    const { pixels } = toMnistInput(image(3, 3, (x, y) => (x === 1 && y === 1 ? [90, 90, 90, 255] : [0, 0, 0, 255])));
    const mean = pixels.reduce((a, b) => a + b, 0) / pixels.length;
    expect(mean).toBeCloseTo(10, 9);
    expect(pixels[14 * SIDE + 14]).toBeCloseTo(90, 9);
    expect(pixels[0]).toBe(0);
  });

  test('a wide picture is centred on a black square, not stretched', () => {
    const { pixels } = toMnistInput(image(56, 28, () => [100, 100, 100, 255]));
    // 56×28 on a 56×56 square: rows 14..41 of it, which are rows 7..20 of the 28×28 result.
    for (let y = 0; y < SIDE; y++) expect([y, pixels[y * SIDE + 3]]).toEqual([y, y >= 7 && y < 21 ? 100 : 0]);
  });
});

test('softmax is stable for large logits', () => {
  expect(softmax([1000, 1000])).toEqual([0.5, 0.5]);
  expect(softmax([0, Math.log(3)])[1]).toBeCloseTo(0.75, 15);
});

describe('mistakes', () => {
  // Any weights of the right shape will do: these fail before or regardless of the prediction.
  let model: string;
  beforeAll(() => {
    model = join(folder, 'untrained.safetensors');
    writeSafetensorsFile(model, new MLP({ backend: 'js' }).stateDict());
  });

  const predictError = async (...argv: string[]): Promise<Error> => {
    const { error } = await captureConsole(() => predictCommand(argv));
    if (!error) throw new Error('fcnet predict succeeded');
    return error;
  };

  test('a file that is neither PNG nor JPEG, named in the error', async () => {
    const path = join(folder, 'digit.txt');
    writeFileSync(path, 'a seven');
    expect((await predictError(model, path)).message).toBe(`${path}: not a PNG image (it does not start with the PNG signature); convert it to PNG first`);
  });

  test('a picture with no ink is refused, not answered with a digit', async () => {
    const path = join(folder, 'blank.png');
    writeFileSync(path, pngBytes(40, 6, () => [0, 0, 0, 0])); // a transparent canvas nobody drew on
    expect((await predictError(model, path)).message).toBe(
      `${path}: the picture has no ink: its grey levels span 0.0 of 255 at 28×28 (under 32), so it is blank or one colour; draw the digit in a colour that stands out from its background`,
    );
  });

  test('a damaged JPEG', async () => {
    const path = join(folder, 'digit.jpg');
    writeFileSync(path, Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0]));
    expect((await predictError(model, path)).message).toMatch(new RegExp(`^${path}: the JPEG image cannot be decoded \\(.+\\); the file may be truncated or damaged$`));
  });

  test('a damaged PNG', async () => {
    const path = join(folder, 'cut.png');
    writeFileSync(path, variants['grey 28×28'](mnistPixels(0)).subarray(0, 60));
    expect((await predictError(model, path)).message).toMatch(new RegExp(`^${path}: the PNG image cannot be decoded \\(.+\\); the file may be truncated or damaged$`));
  });

  test('an image that is not there', async () => {
    const path = join(folder, 'nowhere.png');
    expect((await predictError(model, path)).message).toBe(`Cannot read ${path}: ENOENT: no such file or directory, open '${path}'`);
  });

  test('MODEL and IMAGE swapped', async () => {
    const path = join(folder, 'two.png');
    writeFileSync(path, variants['grey 28×28'](mnistPixels(1)));
    expect((await predictError(path, model)).message).toBe(`${path}: is a PNG picture, not a network's weights; were MODEL and IMAGE swapped? (fcnet predict MODEL IMAGE)`);
  });

  test('IMAGE missing', async () => {
    const error = await predictError(model);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe("missing required argument 'IMAGE'");
  });
});

// Pictures as people make them (issue 16): one MNIST digit drawn on a transparent canvas, on paper, in every PNG
// colour type and bit depth, as JPEG photos, and pictures with no ink (test/fixtures-gen/make-image-fixtures.py).
// Each must come out as the digit, within what its encoding keeps, or be reported blank.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_INK_CONTRAST, toMnistInput } from '../lib/image/mnist-input';
import { decodeImage, readImageFile } from '../lib/image/read-image';

const folder = join(__dirname, 'fixtures', 'images');
const { digit, pictures } = JSON.parse(readFileSync(join(folder, 'images.json'), 'utf8')) as {
  digit: number[];
  pictures: Record<string, number | 'jpeg' | 'blank'>;
};

function differences(pixels: Float64Array): { largest: number; mean: number } {
  const diffs = Array.from(pixels, (v, i) => Math.abs(v - digit[i]));
  return { largest: Math.max(...diffs), mean: diffs.reduce((a, b) => a + b, 0) / diffs.length };
}

describe.each(Object.entries(pictures).filter(([, want]) => want !== 'blank'))('%s', (name, tolerance) => {
  test('is the digit, within what its encoding keeps', () => {
    const input = toMnistInput(readImageFile(join(folder, name)));
    expect(input.blank).toBe(false);
    const { largest, mean } = differences(input.pixels);
    if (tolerance === 'jpeg') {
      expect(mean).toBeLessThan(2); // measured 0.06: JPEG's ringing, averaged away by the 4× reduction
      expect(largest).toBeLessThan(16);
    } else {
      expect(largest).toBeLessThanOrEqual((tolerance as number) + 1e-9); // compositing rounds in float64
    }
  });
});

test.each(Object.keys(pictures).filter((name) => pictures[name] === 'blank'))('%s has no ink', (name) => {
  const { blank, contrast } = toMnistInput(readImageFile(join(folder, name)));
  expect(blank).toBe(true);
  expect(contrast).toBeLessThan(MIN_INK_CONTRAST);
});

test('the handed case: a 7 drawn black on a transparent 280×280 canvas is the digit on a white page', () => {
  const { pixels, blank, page, inverted } = toMnistInput(readImageFile(join(folder, 'canvas-transparent-seven.png')));
  expect({ blank, page, inverted }).toEqual({ blank: false, page: 255, inverted: true });
  expect(differences(pixels).largest).toBeLessThan(1e-9);
});

test('black ink on transparent is the page colour white; white ink on transparent, black', () => {
  expect(toMnistInput(readImageFile(join(folder, 'canvas-black-on-transparent-rgba8.png'))).page).toBe(255);
  expect(toMnistInput(readImageFile(join(folder, 'white-on-transparent-rgba8.png'))).page).toBe(0);
  expect(toMnistInput(readImageFile(join(folder, 'paper-rgb8.png'))).page).toBe(255); // opaque: no page shows
});

describe('pictures fcnet does not read are named', () => {
  const start = (text: string, bytes: number[] = []) => Uint8Array.from([...Buffer.from(text, 'latin1'), ...bytes]);
  test.each([
    ['a HEIC (an iPhone photo)', start('\0\0\0\x18ftypheic')],
    ['a WebP', start('RIFF\0\0\0\0WEBPVP8 ')],
    ['a GIF', start('GIF89a')],
    ['a BMP', start('BM\0\0\0\0')],
    ['a TIFF', start('II*\0')],
    ['an SVG', start('<svg xmlns="http://www.w3.org/2000/svg">')],
  ])('%s', (kind, bytes) => {
    expect(() => decodeImage(bytes, 'digit')).toThrow(new Error(`digit: is ${kind} picture; fcnet reads PNG and JPEG: convert it to PNG first`));
  });
});

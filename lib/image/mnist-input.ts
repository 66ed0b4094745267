// Any picture of a digit made to look like an MNIST image: 28×28 grey, a white digit on black.
//   1. grey: ITU-R BT.601 luma, 0.299 R + 0.587 G + 0.114 B, composited over black by its alpha;
//   2. dark ink on a light page (mean grey above 127) is inverted, as MNIST's ink is white;
//   3. a non-square picture is centred on a black square, so the digit keeps its proportions;
//   4. scaled to 28×28 by area averaging: each output pixel is the mean of the source area it covers,
//      which keeps strokes when shrinking large photos (bilinear would skip pixels) and the mean exactly.
import type { RgbaImage } from './read-png';

export const MNIST_SIDE = 28;

export interface MnistInput {
  /** (28, 28) grey levels 0..255 (not rounded), white ink on black. */
  pixels: Float64Array;
  /** Whether the picture was dark-on-light and so was inverted. */
  inverted: boolean;
}

/** Grey levels (height, width) of an RGBA picture composited over black. */
function greyOverBlack({ width, height, rgba }: RgbaImage): Float64Array {
  const grey = new Float64Array(width * height);
  for (let i = 0; i < grey.length; i++) {
    const r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2], a = rgba[4 * i + 3];
    // In integers first, so a grey pixel (r = g = b) keeps its exact value.
    grey[i] = ((299 * r + 587 * g + 114 * b) / 1000) * (a / 255);
  }
  return grey;
}

/** For each of `outputs` cells over `inputs` source pixels: the source pixels it overlaps and by how much. */
function areaWeights(inputs: number, outputs: number): { index: number; weight: number }[][] {
  const scale = inputs / outputs;
  const cells: { index: number; weight: number }[][] = [];
  for (let o = 0; o < outputs; o++) {
    const begin = o * scale, end = (o + 1) * scale;
    const cell: { index: number; weight: number }[] = [];
    for (let i = Math.floor(begin); i < Math.min(inputs, Math.ceil(end)); i++) {
      const overlap = Math.min(end, i + 1) - Math.max(begin, i);
      if (overlap > 0) cell.push({ index: i, weight: overlap / scale });
    }
    cells.push(cell);
  }
  return cells;
}

/**
 * Area-averaged resize of `grey` (height, width), centred on a black side×side square (side = the larger of the
 * two), to out×out: rows first, then columns (the box filter is separable). The square is never made: source
 * pixels outside the picture are black and add nothing, so a long thin picture costs no more than its pixels.
 */
function resizeByArea(grey: Float64Array, width: number, height: number, out: number): Float64Array {
  const side = Math.max(width, height);
  const left = Math.floor((side - width) / 2), top = Math.floor((side - height) / 2);
  const cells = areaWeights(side, out);
  const rows = new Float64Array(height * out); // (height, out)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < out; x++) {
      let sum = 0;
      for (const { index, weight } of cells[x]) {
        const column = index - left;
        if (column >= 0 && column < width) sum += weight * grey[y * width + column];
      }
      rows[y * out + x] = sum;
    }
  }
  const result = new Float64Array(out * out); // (out, out)
  for (let y = 0; y < out; y++) {
    for (let x = 0; x < out; x++) {
      let sum = 0;
      for (const { index, weight } of cells[y]) {
        const row = index - top;
        if (row >= 0 && row < height) sum += weight * rows[row * out + x];
      }
      result[y * out + x] = sum;
    }
  }
  return result;
}

/** The 28×28 MNIST-like grey levels of a picture of any size and colour type. */
export function toMnistInput(image: RgbaImage): MnistInput {
  const { width, height } = image;
  if (width < 1 || height < 1) throw new RangeError(`Expected an image of at least 1×1 pixels but received ${width}×${height}`);
  const grey = greyOverBlack(image);
  const mean = grey.reduce((sum, v) => sum + v, 0) / grey.length;
  const inverted = mean > 127;
  if (inverted) for (let i = 0; i < grey.length; i++) grey[i] = 255 - grey[i];
  return { pixels: resizeByArea(grey, width, height, MNIST_SIDE), inverted };
}

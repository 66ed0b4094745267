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

/** An output cell: the source pixels it overlaps are `start`, `start + 1`, ... with these weights. */
interface Cell {
  start: number;
  weights: Float64Array;
}

/**
 * For each of `outputs` cells over `inputs` source pixels: the source pixels it overlaps and by how much, keeping
 * only the `count` pixels from `first` on (the picture inside its black square), indexed from `first`.
 */
function areaWeights(inputs: number, outputs: number, first: number, count: number): Cell[] {
  const scale = inputs / outputs;
  const cells: Cell[] = [];
  for (let o = 0; o < outputs; o++) {
    const begin = o * scale, end = (o + 1) * scale;
    const from = Math.max(first, Math.floor(begin)), to = Math.min(first + count, Math.ceil(end));
    const weights = new Float64Array(Math.max(0, to - from));
    for (let i = from; i < to; i++) weights[i - from] = Math.max(0, Math.min(end, i + 1) - Math.max(begin, i)) / scale;
    cells.push({ start: from - first, weights });
  }
  return cells;
}

/**
 * Area-averaged resize of `grey` (height, width), centred on a black side×side square (side = the larger of the
 * two), to out×out: rows first, then columns (the box filter is separable). The square is never made: pixels
 * outside the picture are black and add nothing, so a long thin picture costs no more than its pixels.
 */
function resizeByArea(grey: Float64Array, width: number, height: number, out: number): Float64Array {
  const side = Math.max(width, height);
  const columns = areaWeights(side, out, Math.floor((side - width) / 2), width);
  const lines = areaWeights(side, out, Math.floor((side - height) / 2), height);
  const rows = new Float64Array(height * out); // (height, out)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < out; x++) {
      const { start, weights } = columns[x];
      let sum = 0;
      for (let k = 0; k < weights.length; k++) sum += weights[k] * grey[y * width + start + k];
      rows[y * out + x] = sum;
    }
  }
  const result = new Float64Array(out * out); // (out, out)
  for (let y = 0; y < out; y++) {
    const { start, weights } = lines[y];
    for (let x = 0; x < out; x++) {
      let sum = 0;
      for (let k = 0; k < weights.length; k++) sum += weights[k] * rows[(start + k) * out + x];
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

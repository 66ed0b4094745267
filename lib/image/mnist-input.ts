// Any picture of a digit made to look like an MNIST image: 28×28 grey, a white digit on black.
//   1. grey: ITU-R BT.601 luma, 0.299 R + 0.587 G + 0.114 B, composited by its alpha over the page a person
//      sees it on: white (a viewer's or a browser's page), unless what is drawn is itself light (white chalk on a
//      transparent canvas), which is composited over black so that it stays visible;
//   2. dark ink on a light page (mean grey above 127) is inverted, as MNIST's ink is white;
//   3. a non-square picture is centred on a black square, so the digit keeps its proportions;
//   4. scaled to 28×28 by area averaging: each output pixel is the mean of the source area it covers,
//      which keeps strokes when shrinking large photos (bilinear would skip pixels) and the mean exactly.
// The module imports nothing, so the browser demo (examples/web) runs this same code: tsconfig.web.json
// compiles it to an ES module, dist/web/mnist-input.js.

/**
 * A picture: read-png's RgbaImage, or a canvas's pixels ({ width, height, rgba: imageData.data }).
 * rgba is (height, width, 4) bytes: red, green, blue, alpha.
 */
export interface RgbaPixels {
  width: number;
  height: number;
  rgba: ArrayLike<number>;
}

export const MNIST_SIDE = 28;

/** Below this contrast (grey levels of 0..255, over the 28×28 result), a picture has no ink: blank, or one colour. */
export const MIN_INK_CONTRAST = 32;

export interface MnistInput {
  /** (28, 28) grey levels 0..255 (not rounded), white ink on black. */
  pixels: Float64Array;
  /** Whether the picture was dark-on-light and so was inverted. */
  inverted: boolean;
  /** The page colour that transparency was composited over: 255 (white) or 0 (black). */
  page: 0 | 255;
  /** How much ink stands out from the page: the grey range of the picture at MNIST's scale, padding aside. */
  contrast: number;
  /** No ink: `contrast` is below MIN_INK_CONTRAST (a blank or one-colour picture); its digit means nothing. */
  blank: boolean;
}

const luma = (rgba: ArrayLike<number>, i: number): number =>
  // In integers first, so a grey pixel (r = g = b) keeps its exact value.
  (299 * rgba[4 * i] + 587 * rgba[4 * i + 1] + 114 * rgba[4 * i + 2]) / 1000;

/**
 * The page a person sees the picture on: white, unless what is drawn (the alpha-weighted mean of the pixels'
 * grey) is light, which on white would vanish. Opaque pictures show no page, so either is the same.
 */
function pageColour({ rgba }: RgbaPixels, pixels: number): 0 | 255 {
  let drawn = 0, weight = 0, seeThrough = false;
  for (let i = 0; i < pixels; i++) {
    drawn += rgba[4 * i + 3] * luma(rgba, i);
    weight += rgba[4 * i + 3];
    seeThrough ||= rgba[4 * i + 3] < 255;
  }
  return seeThrough && weight > 0 && drawn / weight > 127 ? 0 : 255;
}

/** Grey levels (height, width) of an RGBA picture composited over `page`. */
function greyOver(image: RgbaPixels, page: number): Float64Array {
  const { width, height, rgba } = image;
  const grey = new Float64Array(width * height);
  for (let i = 0; i < grey.length; i++) {
    const alpha = rgba[4 * i + 3] / 255;
    grey[i] = luma(rgba, i) * alpha + page * (1 - alpha);
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
 * only the `count` pixels from `first` on (the picture inside its black square), indexed from `first`. One typed
 * array a cell, not an object a pixel: a 4,000,000-pixel row would otherwise spend its time collecting garbage.
 */
function areaWeights(inputs: number, outputs: number, first = 0, count = inputs): Cell[] {
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
 * Area-averaged resize of a (height, width) picture to (outHeight, outWidth): rows first, then columns (the box
 * filter is separable). With `side`, the picture is first centred on a black side×side square; the square is never
 * made (pixels outside the picture are black and add nothing), so a long thin picture costs no more than its pixels.
 */
function resizeByArea(grey: Float64Array, width: number, height: number, outWidth: number, outHeight: number, side?: number): Float64Array {
  const columns = side === undefined ? areaWeights(width, outWidth) : areaWeights(side, outWidth, Math.floor((side - width) / 2), width);
  const lines = side === undefined ? areaWeights(height, outHeight) : areaWeights(side, outHeight, Math.floor((side - height) / 2), height);
  const rows = new Float64Array(height * outWidth); // (height, outWidth)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      const { start, weights } = columns[x];
      let sum = 0;
      for (let k = 0; k < weights.length; k++) sum += weights[k] * grey[y * width + start + k];
      rows[y * outWidth + x] = sum;
    }
  }
  const result = new Float64Array(outHeight * outWidth); // (outHeight, outWidth)
  for (let y = 0; y < outHeight; y++) {
    const { start, weights } = lines[y];
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      for (let k = 0; k < weights.length; k++) sum += weights[k] * rows[(start + k) * outWidth + x];
      result[y * outWidth + x] = sum;
    }
  }
  return result;
}

/**
 * The largest minus the smallest grey level of the picture seen at MNIST's scale (its longer side 28 cells), so
 * that single noisy pixels (a photo's grain, JPEG's ringing) do not count as ink, nor does the padding.
 */
function inkContrast(grey: Float64Array, width: number, height: number): number {
  const side = Math.max(width, height);
  const small = resizeByArea(grey, width, height, Math.max(1, Math.round((width * MNIST_SIDE) / side)), Math.max(1, Math.round((height * MNIST_SIDE) / side)));
  return Math.max(...small) - Math.min(...small);
}

/** The 28×28 MNIST-like grey levels of a picture of any size and colour type. */
export function toMnistInput(image: RgbaPixels): MnistInput {
  const { width, height } = image;
  if (width < 1 || height < 1) throw new RangeError(`Expected an image of at least 1×1 pixels but received ${width}×${height}`);
  const page = pageColour(image, width * height);
  const grey = greyOver(image, page);
  const mean = grey.reduce((sum, v) => sum + v, 0) / grey.length;
  const inverted = mean > 127;
  if (inverted) for (let i = 0; i < grey.length; i++) grey[i] = 255 - grey[i];
  const contrast = inkContrast(grey, width, height);
  const pixels = resizeByArea(grey, width, height, MNIST_SIDE, MNIST_SIDE, Math.max(width, height));
  return { pixels, inverted, page, contrast, blank: contrast < MIN_INK_CONTRAST };
}

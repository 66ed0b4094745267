// One dataset image as a small greyscale PNG in a data: URI, for an <image> in an SVG picture.
import { PNG } from 'pngjs';

/**
 * `pixels` (rows, cols) of 0..255, white ink on black as in MNIST, drawn dark on light (inverted) and
 * enlarged `scale` times by repeating pixels, so that it stays sharp in viewers that smooth a scaled image.
 */
export function digitPngDataUri(pixels: Uint8Array, rows: number, cols: number, scale = 2): string {
  const png = new PNG({ width: cols * scale, height: rows * scale, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  const out = Buffer.alloc(rows * scale * cols * scale); // (rows·scale, cols·scale) grey bytes
  for (let y = 0; y < rows * scale; y++) {
    for (let x = 0; x < cols * scale; x++) out[y * cols * scale + x] = 255 - pixels[Math.floor(y / scale) * cols + Math.floor(x / scale)];
  }
  png.data = out;
  return `data:image/png;base64,${PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }).toString('base64')}`;
}

// Resource limits of the IDX, PNG and safetensors readers (kind 3 of issue 15), checked before the memory is
// taken, and error text that stays short whatever the input (kind 4). The hostile files are made here, after the
// cases found on af01466: a 48 KB PNG of 20000 × 20000 pixels (37 s, 4.6 GB) and a 1.5 MB gzip IDX of 2 million
// blank images (3.1 GB, 12.7 s).
import * as zlib from 'node:zlib';
import { decodeSafetensors, encodeSafetensors, MAX_HEADER_VALUES } from '../lib/checkpoint';
import { DEFAULT_MAX_IDX_BYTES, MAX_IDX_BYTES_VARIABLE, parseIdx } from '../lib/data/idx';
import { toMnistInput } from '../lib/image/mnist-input';
import { decodePng, MAX_PNG_PIXELS } from '../lib/image/read-png';
import { invalidArgument } from '../lib/check';
import { clipText, formatItems, showJson } from '../lib/io/bounded-text';
import { chunk, pngBytes } from './support/png-builder';

const MB = 1 << 20;

/** What `action` added to the memory of array buffers (typed arrays, Buffers) at its peak, roughly: before and after. */
function arrayBufferGrowth(action: () => unknown): number {
  const before = process.memoryUsage().arrayBuffers;
  try {
    action();
  } catch {
    // the refusal itself is checked by the caller
  }
  return process.memoryUsage().arrayBuffers - before;
}

function idxHeader(shape: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
  return header;
}

describe('gzip IDX: a ceiling on the inflated size', () => {
  afterEach(() => {
    delete process.env[MAX_IDX_BYTES_VARIABLE];
  });

  test('a header declaring 2 million images is refused before the data is inflated, naming the way to raise the limit', () => {
    const file = zlib.gzipSync(Buffer.concat([idxHeader([2_000_000, 28, 28]), Buffer.alloc(4 * MB)]));
    let message = '';
    const growth = arrayBufferGrowth(() => {
      try {
        parseIdx(file, 'images.gz');
      } catch (error) {
        message = (error as Error).message;
      }
    });
    expect(message).toBe(
      'images.gz: its IDX header declares shape [2000000, 28, 28], 1,568,000,016 bytes once inflated, over the 1,073,741,824 bytes an IDX array ' +
        'may take; raise the limit with the maxBytes option or FCNET_MAX_IDX_BYTES',
    );
    expect(growth).toBeLessThan(2 * MB); // 4 MB of data were never inflated
    expect(DEFAULT_MAX_IDX_BYTES).toBe(2 ** 30);
  });

  test('an honest array is inflated into one buffer: memory of its size once, not chunks and their concatenation', () => {
    const file = zlib.gzipSync(Buffer.concat([idxHeader([32 * MB]), Buffer.alloc(32 * MB, 1)]));
    let shape: number[] = [];
    const growth = arrayBufferGrowth(() => ({ shape } = parseIdx(file, 'f')));
    expect(shape).toEqual([32 * MB]);
    expect(growth).toBeLessThan(33 * MB);
  });

  test('the maxBytes option and FCNET_MAX_IDX_BYTES set the ceiling; the option wins', () => {
    const file = zlib.gzipSync(Buffer.concat([idxHeader([10, 10]), Buffer.alloc(100, 7)]));
    expect(parseIdx(file, 'f', { maxBytes: 112 }).shape).toEqual([10, 10]);
    expect(() => parseIdx(file, 'f', { maxBytes: 111 })).toThrow(/^f: its IDX header declares shape \[10, 10\], 112 bytes once inflated, over the 111 bytes/);
    process.env[MAX_IDX_BYTES_VARIABLE] = '111';
    expect(() => parseIdx(file, 'f')).toThrow(/over the 111 bytes an IDX array may take/);
    expect(parseIdx(file, 'f', { maxBytes: 200 }).data.length).toBe(100);
    process.env[MAX_IDX_BYTES_VARIABLE] = '1e9';
    expect(() => parseIdx(file, 'f')).toThrow(new RangeError("Expected integer between 1 and 4294967296 for FCNET_MAX_IDX_BYTES but received '1e9'"));
    expect(() => parseIdx(file, 'f', { maxBytes: 0 })).toThrow(new RangeError('Expected integer between 1 and 4294967296 for maxBytes but received 0 of type number'));
    expect(() => parseIdx(file, 'f', { maxBytez: 1 } as object)).toThrow(new TypeError("Unknown option 'maxBytez' for parseIdx; known options: maxBytes"));
  });
});

describe('PNG: a pixel limit and bounded inflation, checked before pngjs runs', () => {
  test('a 20000 × 20000 picture is refused on its header, whatever its data', () => {
    const png = pngBytes({ width: 20_000, height: 20_000, bitDepth: 1, idat: zlib.deflateSync(Buffer.alloc(1000)) });
    expect(() => decodePng(png, 'big.png')).toThrow(
      new Error('big.png: the picture is 20,000 × 20,000 pixels, over the limit of 16,777,216 pixels; scale it down first'),
    );
    expect(MAX_PNG_PIXELS).toBe(4096 * 4096);
    const small = pngBytes({ width: 30, height: 20 });
    expect(() => decodePng(small, 's.png', { maxPixels: 599 })).toThrow('s.png: the picture is 30 × 20 pixels, over the limit of 599 pixels');
    expect(decodePng(small, 's.png', { maxPixels: 600 }).width).toBe(30);
  });

  test('interlaced image data that inflates past what the picture needs is refused (pngjs would inflate it all)', () => {
    const bomb = pngBytes({ width: 2, height: 2, interlaced: true, idat: zlib.deflateSync(Buffer.alloc(64 * MB)) });
    let message = '';
    const growth = arrayBufferGrowth(() => {
      try {
        decodePng(bomb, 'bomb.png');
      } catch (error) {
        message = (error as Error).message;
      }
    });
    expect(message).toBe('bomb.png: the PNG image cannot be decoded (its image data inflates to more than the 7 bytes a 2 × 2 picture needs); the file may be truncated or damaged');
    expect(growth).toBeLessThan(4 * MB);
  });

  test('interlaced pictures of every colour type still decode', () => {
    for (const [colorType, bitDepth] of [[0, 1], [0, 16], [2, 8], [3, 4], [4, 8], [6, 16]]) {
      for (const interlaced of [false, true]) {
        const image = decodePng(pngBytes({ width: 13, height: 7, colorType, bitDepth, interlaced }), 'p.png');
        expect([image.width, image.height, image.rgba.length]).toEqual([13, 7, 13 * 7 * 4]);
        const alpha = colorType === 4 || colorType === 6 ? 0 : 255; // samples of 0: black, transparent where there is alpha
        expect(image.rgba.every((v, i) => v === (i % 4 === 3 ? alpha : 0))).toBe(true);
      }
    }
  });

  test('a second IHDR, which pngjs would take over the first, is refused', () => {
    const one = pngBytes({ width: 1, height: 1 });
    const bigHeader = Buffer.alloc(13);
    bigHeader.writeUInt32BE(50_000, 0);
    bigHeader.writeUInt32BE(50_000, 4);
    bigHeader[8] = 8;
    const twice = Buffer.concat([one.subarray(0, 33), chunk('IHDR', bigHeader), one.subarray(33)]);
    expect(() => decodePng(twice, 'two.png')).toThrow('two.png: the PNG image cannot be decoded (a second IHDR chunk at byte 33)');
  });

  test('a long thin picture is made an MNIST input without building its padded square', () => {
    const width = 4_000_000;
    const rgba = new Uint8Array(width * 4).fill(255); // one white row
    let pixels: Float64Array | undefined;
    const growth = arrayBufferGrowth(() => ({ pixels } = toMnistInput({ width, height: 1, rgba })));
    expect(growth).toBeLessThan(64 * MB); // the square would be 4e6² floats
    // Mean grey is 255 > 127: inverted, so the row is black on black.
    expect(pixels?.every((v) => v === 0)).toBe(true);
  });
});

describe('safetensors: the header is checked before JSON.parse', () => {
  const withHeader = (json: string): Uint8Array => {
    const text = Buffer.from(json);
    const out = Buffer.alloc(8 + text.length);
    out.writeBigUInt64LE(BigInt(text.length));
    text.copy(out, 8);
    return out;
  };

  test('nesting deeper than a safetensors header, or more values than fcnet reads, is refused unparsed', () => {
    expect(() => decodeSafetensors(withHeader('{"a":{"shape":[[1]]}}'), { source: 'deep' })).toThrow(
      new Error('deep: header nests deeper than a safetensors header (3 levels)'),
    );
    expect(() => decodeSafetensors(withHeader(`{"a":[${'0,'.repeat(MAX_HEADER_VALUES)}0]}`), { source: 'wide' })).toThrow(
      new Error(`wide: header holds more than ${MAX_HEADER_VALUES} values, more than fcnet reads`),
    );
    // Brackets and commas inside strings are not structure.
    const quoted = encodeSafetensors({ 'w[{,,}]"\\': { shape: [1], data: Float32Array.of(1) } }, { note: '[[[[{{{{,,,,' });
    expect(Object.keys(decodeSafetensors(quoted).tensors)).toEqual(['w[{,,}]"\\']);
  });

  test('a huge tensor name and a long shape make short messages', () => {
    const name = 'n'.repeat(10 * MB);
    const header = `{"${name}":{"dtype":"F32","shape":[${'0,'.repeat(100_000)}0],"data_offsets":[0,4]}}`;
    let message = '';
    try {
      decodeSafetensors(withHeader(header), { source: 'h' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      `h: tensor '${'n'.repeat(100)}… (10,485,660 more characters)': data_offsets [0, 4] run past the 0-byte data area`,
    );
    const shaped = `{"t":{"dtype":"F32","shape":[${'0,'.repeat(100_000)}0],"data_offsets":[0,0]},"u":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`;
    const bytes = Buffer.concat([Buffer.from(withHeader(shaped)), Buffer.alloc(4)]);
    expect(() => decodeSafetensors(bytes, { source: 'h', expect: { t: [1], u: [1] } })).toThrow(
      new Error("h: tensor 't': shape [0, 0, 0, 0, 0, 0, 0, 0, … (99,993 more)] but expected [1]"),
    );
  });
});

test('the helpers: text, lists and JSON values are clipped with a count, and cost no more than what they show', () => {
  expect(clipText('abc')).toBe('abc');
  expect(clipText('x'.repeat(150))).toBe(`${'x'.repeat(100)}… (50 more characters)`);
  expect(formatItems([1, 2, 3])).toBe('1, 2, 3');
  expect(formatItems(new Uint32Array(1_000_000))).toBe('0, 0, 0, 0, 0, 0, 0, 0, … (999,992 more)');
  expect(showJson({ a: [1, 'two', null], b: { c: {} } })).toBe(JSON.stringify({ a: [1, 'two', null], b: { c: {} } }));
  expect(showJson([[[[1]]]])).toBe('[[[[…]]]]');
  expect(showJson(['s'.repeat(200)])).toBe(`["${'s'.repeat(100)}… (100 more characters)"]`);
  expect(invalidArgument('string', 'name', 'v'.repeat(1_000_000)).message).toBe(
    `Expected string for name but received '${'v'.repeat(100)}… (999,900 more characters)' of type string`,
  );
});

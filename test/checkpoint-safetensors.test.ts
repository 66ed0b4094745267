// safetensors: reading PyTorch's fixtures, bit-exact round trips, and every way a header can lie.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsFile,
  writeSafetensorsFile,
} from '../lib/checkpoint';
import type { StateDict } from '../lib/tensor';
import { describeWithFixtures, fixtureFilesOf, fixtureNames, requireFixtureFile } from './support/fixtures-dir';

/** A safetensors file with this header (an object, or raw text) and `dataBytes` bytes of data. */
function craft(header: object | string, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + dataBytes);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  return bytes;
}

const decodeError = (bytes: Uint8Array, options = {}): string => {
  try {
    decodeSafetensors(bytes, options);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('decodeSafetensors accepted the file');
};

/** float32 bit patterns, so NaN payloads and -0 count too. */
const bitsOf = (data: Float32Array): number[] => Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length));

describeWithFixtures('the PyTorch fixtures', fixtureNames.flatMap(fixtureFilesOf), () => {
  test.each(fixtureNames)('%s: every tensor reads, with the values PyTorch wrote', (name) => {
    const meta = JSON.parse(readFileSync(requireFixtureFile(`${name}.json`), 'utf8'));
    const { tensors, metadata } = readSafetensorsFile(requireFixtureFile(`${name}.safetensors`));
    const B = meta.batch;
    const H = meta.hidden;
    expect(Object.keys(tensors)).toHaveLength(25);
    expect(tensors.x.shape).toEqual([B, 784]);
    expect(tensors.y.shape).toEqual([B]); // stored as I64
    expect(tensors['fc1.weight'].shape).toEqual([H, 784]);
    // A large weight's gradient, value after the steps and moments keep the rows the JSON lists (all when none).
    const rows: number[] | undefined = meta.rows?.['fc1.weight'];
    for (const kind of ['grad', 'after', 'adam.exp_avg', 'adam.exp_avg_sq']) {
      expect([kind, tensors[`${kind}.fc1.weight`].shape]).toEqual([kind, [rows?.length ?? H, 784]]);
    }
    expect(tensors['adam.exp_avg_sq.fc2.bias'].shape).toEqual([10]);
    expect(tensors.loss.shape).toEqual([]);
    expect(metadata.hidden).toBe(String(H));

    expect(tensors.x.data.every((pixel) => pixel >= 0 && pixel <= 1)).toBe(true);
    expect(tensors.y.data.every((label) => Number.isInteger(label) && label >= 0 && label <= 9)).toBe(true);
    // The JSON beside the file holds the same losses, printed by PyTorch.
    expect(tensors.loss.data[0]).toBe(Math.fround(meta.loss));
    expect(Array.from(tensors.losses.data)).toEqual(meta.losses.map(Math.fround));

    // The stored logits are x·W1ᵀ+b1, ReLU, ·W2ᵀ+b2 of the stored tensors: the reads line up.
    const [W1, b1, W2, b2] = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'].map((key) => tensors[key].data);
    let largest = 0;
    for (let n = 0; n < B; n++) {
      const hidden = Array.from({ length: H }, (_, h) => {
        let sum = b1[h];
        for (let i = 0; i < 784; i++) sum += tensors.x.data[n * 784 + i] * W1[h * 784 + i];
        return Math.max(sum, 0);
      });
      for (let o = 0; o < 10; o++) {
        const logit = hidden.reduce((sum, value, h) => sum + value * W2[o * H + h], b2[o]);
        largest = Math.max(largest, Math.abs(logit - tensors.logits.data[n * 10 + o]));
      }
    }
    expect(largest).toBeLessThan(1e-5);
  });
});

describe('round trip', () => {
  const random = new Uint32Array(1000).map((_, i) => (Math.imul(i + 1, 2654435761) ^ (i << 7)) >>> 0);
  const tensors: StateDict = {
    'fc1.weight': { shape: [4, 5], data: new Float32Array(random.buffer, 0, 20) },
    scalar: { shape: [], data: Float32Array.of(-0) },
    empty: { shape: [0, 3], data: new Float32Array(0) },
    'naïve ünïcode': { shape: [3], data: Float32Array.of(NaN, Infinity, 1e-45) },
    odd: { shape: [7], data: new Float32Array(random.buffer, 4 * 100, 7) },
  };

  test('bytes come back bit-exact, in insertion order, with metadata', () => {
    const bytes = encodeSafetensors(tensors, { format: 'pt', producer: 'fcnet' });
    const { tensors: back, metadata } = decodeSafetensors(bytes);
    expect(Object.keys(back)).toEqual(Object.keys(tensors));
    for (const [name, tensor] of Object.entries(tensors)) {
      expect(back[name].shape).toEqual(tensor.shape);
      expect(bitsOf(back[name].data)).toEqual(bitsOf(tensor.data));
    }
    expect(metadata).toEqual({ format: 'pt', producer: 'fcnet' });
  });

  test('the header is padded with spaces so the data starts 8-byte aligned, like the reference writer', () => {
    const bytes = encodeSafetensors({ w: { shape: [1], data: Float32Array.of(1) } });
    const headerBytes = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerBytes));
    expect((8 + headerBytes) % 8).toBe(0);
    expect(header).toBe('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'.padEnd(headerBytes, ' '));
    expect(bytes.length).toBe(8 + headerBytes + 4);
  });

  test('reads at any byte offset (the data need not be 4-aligned in memory)', () => {
    const bytes = encodeSafetensors(tensors);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const { tensors: back } = decodeSafetensors(shifted.subarray(3));
    expect(bitsOf(back.odd.data)).toEqual(bitsOf(tensors.odd.data));
  });

  test('converts F64, F16, BF16 and integer dtypes to float32', () => {
    const header = {
      f64: { dtype: 'F64', shape: [1], data_offsets: [0, 8] },
      i64: { dtype: 'I64', shape: [1], data_offsets: [8, 16] },
      f16: { dtype: 'F16', shape: [1], data_offsets: [16, 18] },
      bf16: { dtype: 'BF16', shape: [1], data_offsets: [18, 20] },
      i32: { dtype: 'I32', shape: [1], data_offsets: [20, 24] },
      i16: { dtype: 'I16', shape: [1], data_offsets: [24, 26] },
      i8: { dtype: 'I8', shape: [1], data_offsets: [26, 27] },
      u8: { dtype: 'U8', shape: [1], data_offsets: [27, 28] },
      bool: { dtype: 'BOOL', shape: [2], data_offsets: [28, 30] },
    };
    const bytes = craft(header, 30);
    const data = new DataView(bytes.buffer, bytes.length - 30);
    data.setFloat64(0, 1 / 3, true);
    data.setBigInt64(8, -(2n ** 40n) - 3n, true);
    data.setUint16(16, 0x3c00 | 0x8000, true); // float16 -1
    data.setUint16(18, 0x4049, true); // bfloat16 3.140625
    data.setInt32(20, -123456789, true);
    data.setInt16(24, -32768, true);
    data.setInt8(26, -128);
    data.setUint8(27, 255);
    data.setUint8(28, 0);
    data.setUint8(29, 7); // any non-zero byte is true
    const { tensors: t } = decodeSafetensors(bytes);
    expect([t.f64, t.i64, t.f16, t.bf16, t.i32, t.i16, t.i8, t.u8].map((x) => x.data[0])).toEqual([
      Math.fround(1 / 3), Math.fround(-(2 ** 40) - 3), -1, 3.140625, Math.fround(-123456789), -32768, -128, 255,
    ]);
    expect(Array.from(t.bool.data)).toEqual([0, 1]);
  });

  test('writeSafetensorsFile writes atomically and readSafetensorsFile names the path in errors', () => {
    const folder = mkdtempSync(join(tmpdir(), 'fcnet-safetensors-'));
    try {
      const path = join(folder, 'model.safetensors');
      writeSafetensorsFile(path, tensors, { epoch: '3' });
      expect(readdirSync(folder)).toEqual(['model.safetensors']);
      const { tensors: back, metadata } = readSafetensorsFile(path, { expect: { 'fc1.weight': [4, 5], scalar: [], empty: [0, 3], 'naïve ünïcode': [3], odd: [7] } });
      expect(bitsOf(back['fc1.weight'].data)).toEqual(bitsOf(tensors['fc1.weight'].data));
      expect(metadata).toEqual({ epoch: '3' });

      const headerBytes = readFileSync(path).readUInt32LE(0);
      writeFileSync(path, readFileSync(path).subarray(0, 100));
      expect(() => readSafetensorsFile(path)).toThrow(new Error(`${path}: header length ${headerBytes} runs past the end of the 100-byte file`));
    } finally {
      rmSync(folder, { recursive: true });
    }
  });

  test('bad arguments to the writer get one message shape', () => {
    expect(() => encodeSafetensors({ w: { shape: [3, 4], data: new Float32Array(11) } })).toThrow(
      new RangeError("Expected Float32Array of length 12 (shape [3, 4]) for tensors['w'].data but received Float32Array of length 11"),
    );
    expect(() => encodeSafetensors({ w: { shape: [2], data: new Float64Array(2) as unknown as Float32Array } })).toThrow(
      new RangeError("Expected Float32Array for tensors['w'].data but received Float64Array of length 2"),
    );
    expect(() => encodeSafetensors({ w: { shape: [-1], data: new Float32Array(0) } })).toThrow(
      new TypeError("Expected array of non-negative integers for tensors['w'].shape but received Array of length 1"),
    );
    expect(() => encodeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } })).toThrow(
      new TypeError("Tensor name '__metadata__' is reserved by safetensors for metadata"),
    );
    expect(() => encodeSafetensors({}, { epoch: 3 as unknown as string })).toThrow(
      new RangeError("Expected string for metadata['epoch'] but received 3 of type number"),
    );
    expect(() => decodeSafetensors(new Uint8Array(8), { sorce: 'x' } as object)).toThrow(
      new TypeError("Unknown option 'sorce' for decodeSafetensors; known options: source, expect"),
    );
  });
});

describe('refusing broken or hostile files, before allocating tensor memory', () => {
  const w = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

  test('a file too short for the header length', () => {
    expect(decodeError(new Uint8Array(5))).toBe('safetensors: file is 5 bytes, too short for the 8-byte header length');
  });

  test('a header length past the end of the file', () => {
    const header = JSON.stringify({ w: w(0, 4) });
    const bytes = craft(header, 4).subarray(0, 30);
    expect(decodeError(bytes, { source: 'model.safetensors' })).toBe(
      `model.safetensors: header length ${header.length} runs past the end of the 30-byte file`,
    );
  });

  test('a data area cut short', () => {
    const bytes = encodeSafetensors({ a: { shape: [2], data: new Float32Array(2) }, b: { shape: [3], data: new Float32Array(3) } });
    expect(decodeError(bytes.subarray(0, bytes.length - 4))).toBe("safetensors: tensor 'b': data_offsets [8, 20] run past the 16-byte data area");
  });

  test('a huge header length (2^40) is refused without reading the header', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 40n, true);
    const decode = jest.spyOn(TextDecoder.prototype, 'decode');
    try {
      expect(decodeError(bytes)).toBe('safetensors: header length 1099511627776 is over the 100000000-byte limit');
      expect(decode).not.toHaveBeenCalled();
    } finally {
      decode.mockRestore();
    }
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expect(decodeError(bytes)).toBe('safetensors: header length 18446744073709551615 is over the 100000000-byte limit');
  });

  test('overlapping tensors', () => {
    const bytes = craft({ a: w(0, 16), b: w(8, 24) }, 24);
    expect(decodeError(bytes)).toBe("safetensors: tensors 'a' [0, 16] and 'b' [8, 24] overlap");
  });

  test('gaps: before, between and after the tensors', () => {
    expect(decodeError(craft({ a: w(0, 8), b: w(16, 24) }, 24))).toBe("safetensors: 8 unused bytes at data offset 8, before tensor 'b'");
    expect(decodeError(craft({ a: w(4, 8) }, 8))).toBe("safetensors: 4 unused bytes at data offset 0, before tensor 'a'");
    expect(decodeError(craft({ a: w(0, 8) }, 12))).toBe("safetensors: 4 unused bytes at the end of the 12-byte data area, after tensor 'a'");
    expect(decodeError(craft({}, 4))).toBe('safetensors: 4 unused bytes at the end of the 4-byte data area (the header lists no tensors)');
  });

  test('a shape that does not match the bytes', () => {
    const bytes = craft({ 'fc1.weight': w(0, 100, [500, 784]) }, 100);
    expect(decodeError(bytes, { source: 'model.safetensors' })).toBe(
      "model.safetensors: tensor 'fc1.weight': data_offsets [0, 100] hold 100 bytes but shape [500, 784] of F32 needs 1568000",
    );
  });

  test('bad fields in a tensor entry', () => {
    const entry = (info: unknown) => decodeError(craft({ t: info }, 4));
    expect(entry({ dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] })).toBe(
      "safetensors: tensor 't': unknown dtype \"F8_E4M3\" (known: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)",
    );
    expect(entry({ dtype: 'F32', shape: [-1], data_offsets: [0, 4] })).toBe(
      "safetensors: tensor 't': shape must be an array of non-negative integers but is [-1]",
    );
    expect(entry({ dtype: 'F32', shape: [1.5], data_offsets: [0, 4] })).toBe(
      "safetensors: tensor 't': shape must be an array of non-negative integers but is [1.5]",
    );
    expect(entry({ dtype: 'F32', shape: [1], data_offsets: [4, 0] })).toBe("safetensors: tensor 't': data_offsets [4, 0] end before they begin");
    expect(entry({ dtype: 'F32', shape: [1], data_offsets: [0] })).toBe(
      "safetensors: tensor 't': data_offsets must be two non-negative integers [begin, end] but is [0]",
    );
    expect(entry({ dtype: 'F32', shape: [1] })).toBe("safetensors: tensor 't': missing field 'data_offsets'");
    expect(entry({ dtype: 'F32', shape: [1], data_offsets: [0, 4], byteorder: 'big' })).toBe(
      "safetensors: tensor 't': unknown field 'byteorder' (expected dtype, shape, data_offsets)",
    );
    expect(entry([1, 2])).toBe("safetensors: tensor 't': expected an object with dtype, shape and data_offsets but found an array");
  });

  test('headers that are not a JSON object, or metadata that is not strings', () => {
    expect(decodeError(craft('{"w": {"dtype": "F32",', 0))).toBe('safetensors: header is not valid JSON (it starts "{\\"w\\": {\\"dtype\\": \\"F32\\",")');
    expect(decodeError(craft('[1, 2]', 0))).toBe('safetensors: header must be a JSON object but is an array');
    const notUtf8 = craft('{"a": 1}', 0);
    notUtf8[10] = 0xff;
    expect(decodeError(notUtf8)).toBe('safetensors: header is not valid UTF-8');
    expect(decodeError(craft({ __metadata__: { epoch: 3 } }, 0))).toBe("safetensors: __metadata__ 'epoch' must be a string but is a number");
    expect(decodeError(craft({ __metadata__: 'x' }, 0))).toBe('safetensors: __metadata__ must be an object of strings but is a string');
  });

  test('expected names and shapes', () => {
    const bytes = craft({ 'fc1.weight': w(0, 24, [2, 3]), 'fc3.weight': w(24, 28, [1]) }, 28);
    const expect2 = { 'fc1.weight': [2, 3], 'fc2.bias': [1], 'fc2.weight': [1] };
    expect(decodeError(bytes, { expect: expect2 })).toBe(
      "safetensors: missing tensors 'fc2.bias', 'fc2.weight'; unexpected tensor 'fc3.weight'",
    );
    expect(decodeError(bytes, { expect: { 'fc1.weight': [3, 2], 'fc3.weight': [1] } })).toBe(
      "safetensors: tensor 'fc1.weight': shape [2, 3] but expected [3, 2]",
    );
    expect(() => decodeSafetensors(bytes, { expect: { 'fc1.weight': [2, -3] } })).toThrow(
      new TypeError("Expected array of non-negative integers for expect['fc1.weight'] but received Array of length 2"),
    );
  });

  test("a tensor named '__proto__' is an ordinary entry", () => {
    const { tensors } = decodeSafetensors(craft('{"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', 4));
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype);
  });
});

// Seeded damage to files, for the file fuzzer: generic (bit flips, byte runs, truncation, extension, cut and
// spliced ranges, huge integers at random offsets) and aware of each format (IDX dimensions, safetensors header
// length and JSON fields, zip central directory and local headers, the pickle inside a PyTorch checkpoint).
import * as zlib from 'zlib';
import { Rng } from '../../lib/rng';
import { chunk, crc32 } from '../support/png-builder';

const HUGE_U32 = [0xffffffff, 0x80000000, 0x7fffffff, 0x10000000, 0x01000000, 0, 1];
const HUGE_JSON = [2 ** 53, 2 ** 53 + 2, 2 ** 64, 2 ** 31, 2 ** 32, -1, -(2 ** 31), 0.5, 1e308, 'x', null, true, [], {}];

export class Mutator {
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed, 7);
  }

  int(lo: number, hi: number): number {
    return lo + this.rng.nextInt(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.rng.nextFloat() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.rng.nextInt(items.length)];
  }

  bytes(n: number, how: 'random' | 'zero' | 'ff' = 'random'): Uint8Array {
    const out = new Uint8Array(n);
    if (how === 'ff') out.fill(0xff);
    else if (how === 'random') for (let i = 0; i < n; i++) out[i] = this.rng.nextInt(256);
    return out;
  }

  /** One generic mutation; the name says which. */
  generic(input: Uint8Array): { bytes: Uint8Array; how: string } {
    const b = new Uint8Array(input); // a copy (Buffer's slice() would be a view)
    const at = (room = 1) => this.int(0, Math.max(0, b.length - room));
    switch (this.int(0, 8)) {
      case 0: {
        const flips = this.int(1, 8);
        for (let i = 0; i < flips && b.length > 0; i++) b[at()] ^= 1 << this.int(0, 7);
        return { bytes: b, how: `${flips} bit flips` };
      }
      case 1: {
        const n = this.int(1, 64);
        const start = at();
        b.set(this.bytes(Math.min(n, b.length - start), this.pick(['random', 'zero', 'ff'] as const)), start);
        return { bytes: b, how: `run of ${n} bytes at ${start}` };
      }
      case 2: {
        const n = this.int(0, Math.max(0, b.length - 1));
        return { bytes: b.subarray(0, n), how: `truncated to ${n}` };
      }
      case 3: {
        const n = this.pick([1, 7, 64, 4096]);
        const out = new Uint8Array(b.length + n);
        out.set(b);
        out.set(this.bytes(n, this.pick(['random', 'zero'] as const)), b.length);
        return { bytes: out, how: `extended by ${n}` };
      }
      case 4: {
        const start = at(), n = this.int(1, 256);
        const out = new Uint8Array(b.length - Math.min(n, b.length - start));
        out.set(b.subarray(0, start));
        out.set(b.subarray(start + n), start);
        return { bytes: out, how: `cut ${n} at ${start}` };
      }
      case 5: {
        const start = at(), n = this.int(1, 256);
        const out = new Uint8Array(b.length + n);
        out.set(b.subarray(0, start));
        out.set(this.bytes(n), start);
        out.set(b.subarray(start), start + n);
        return { bytes: out, how: `inserted ${n} at ${start}` };
      }
      case 6: { // a range repeated: structures that point at each other twice
        const start = at(), n = Math.min(this.int(1, 512), b.length - start);
        const out = new Uint8Array(b.length + n);
        out.set(b.subarray(0, start + n));
        out.set(b.subarray(start, start + n), start + n);
        out.set(b.subarray(start + n), start + 2 * n);
        return { bytes: out, how: `repeated ${n} at ${start}` };
      }
      default: {
        if (b.length < 4) return { bytes: b, how: 'unchanged (too short)' };
        const start = at(4);
        const value = this.pick(HUGE_U32);
        new DataView(b.buffer, b.byteOffset).setUint32(start, value, this.chance(0.5));
        return { bytes: b, how: `u32 ${value} at ${start}` };
      }
    }
  }

  /** IDX: the dimension count, the type code, or one dimension set to something else. */
  idx(input: Uint8Array): { bytes: Uint8Array; how: string } {
    const b = new Uint8Array(input); // a copy (Buffer's slice() would be a view)
    const view = new DataView(b.buffer);
    const dims = Math.min(4, b[3] ?? 0);
    switch (this.int(0, 2)) {
      case 0:
        b[3] = this.pick([0, 1, 2, 3, 4, 5, 255]);
        return { bytes: b, how: `dimension count ${b[3]}` };
      case 1:
        b[2] = this.pick([0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0]);
        return { bytes: b, how: `type code ${b[2]}` };
      default: {
        const d = this.int(0, Math.max(0, dims - 1));
        if (8 + 4 * d > b.length) return this.generic(b);
        const old = view.getUint32(4 + 4 * d);
        const value = this.pick([...HUGE_U32, old + 1, old - 1 >>> 0, old * 2]);
        view.setUint32(4 + 4 * d, value);
        return { bytes: b, how: `dimension ${d} = ${value}` };
      }
    }
  }

  /** safetensors: the header length, or one field of the JSON header (re-encoded, length fixed or not). */
  safetensors(input: Uint8Array): { bytes: Uint8Array; how: string } {
    const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
    const length = Number(view.getBigUint64(0, true));
    if (this.chance(0.25)) {
      const b = new Uint8Array(input); // a copy (Buffer's slice() would be a view)
      const value = this.pick([2n ** 64n - 1n, 2n ** 53n, 100_000_001n, BigInt(b.length - 8), BigInt(b.length - 7), BigInt(length + 1), BigInt(length - 1), 0n, 1n]);
      new DataView(b.buffer).setBigUint64(0, value, true);
      return { bytes: b, how: `header length ${value}` };
    }
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder().decode(input.subarray(8, 8 + length)));
      if (typeof header !== 'object' || header === null || Object.keys(header).length === 0) throw new Error('no entries');
    } catch {
      return this.generic(input); // damaged before: no JSON to work on
    }
    const data = input.subarray(8 + length);
    const names = Object.keys(header).filter((n) => n !== '__metadata__');
    const name = this.pick(names.length > 0 ? names : ['t']);
    const entry = (isRecord(header[name]) ? header[name] : { dtype: 'F32', shape: [], data_offsets: [0, 0] }) as { dtype: unknown; shape: unknown[]; data_offsets: unknown[] };
    if (!Array.isArray(entry.shape)) entry.shape = [];
    if (!Array.isArray(entry.data_offsets)) entry.data_offsets = [0, 0];
    let how: string;
    switch (this.int(0, 9)) {
      case 0: entry.shape = [...entry.shape, this.pick(HUGE_JSON)]; how = `'${name}' shape + a dimension`; break;
      case 1: entry.shape[this.int(0, Math.max(0, entry.shape.length - 1))] = this.pick(HUGE_JSON); how = `'${name}' shape damaged`; break;
      case 2: entry.data_offsets[this.int(0, 1)] = this.pick([...HUGE_JSON, data.length, data.length + 1]); how = `'${name}' data_offsets damaged`; break;
      case 3: entry.data_offsets = [...entry.data_offsets].reverse(); how = `'${name}' data_offsets reversed`; break;
      case 4: entry.dtype = this.pick(['F64', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL', 'F8_E4M3', 'f32', 7, null]); how = `'${name}' dtype ${String(entry.dtype)}`; break;
      case 5: delete header[name]; how = `'${name}' removed`; break;
      case 6: header[`${name}.copy`] = { ...entry }; how = `'${name}' listed twice`; break;
      case 7: { // many tiny entries: a header that costs more to hold than its bytes
        const extra = this.pick([1000, 5000]);
        for (let i = 0; i < extra; i++) header[`z${i}`] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
        how = `${extra} empty tensors added`;
        break;
      }
      case 8: { // the metadata: non-strings, or a training checkpoint's JSON fields damaged
        const meta = (isRecord(header.__metadata__) ? header.__metadata__ : {}) as Record<string, unknown>;
        const key = this.pick([...Object.keys(meta), 'x']);
        meta[key] = this.chance(0.3) ? this.pick(HUGE_JSON) : JSON.stringify(this.damageJson(safeParse(meta[key])));
        header.__metadata__ = meta;
        how = `metadata '${key}' damaged`;
        break;
      }
      default: header[name] = this.pick(HUGE_JSON); how = `'${name}' replaced`; break;
    }
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + data.length);
    const fixLength = this.chance(0.8);
    new DataView(out.buffer).setBigUint64(0, BigInt(fixLength ? json.length : length), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return { bytes: out, how: `${how}${fixLength ? '' : ', old header length'}` };
  }

  private damageJson(value: unknown): unknown {
    if (Array.isArray(value) && value.length > 0) {
      const copy = [...value];
      copy[this.int(0, copy.length - 1)] = this.pick(HUGE_JSON);
      return this.chance(0.2) ? [...copy, 1] : copy;
    }
    if (value !== null && typeof value === 'object') {
      const copy = { ...(value as Record<string, unknown>) };
      const key = this.pick(Object.keys(copy).concat('extra'));
      if (this.chance(0.2)) delete copy[key];
      else copy[key] = this.pick(HUGE_JSON);
      return copy;
    }
    return this.pick(HUGE_JSON);
  }

  /**
   * A PNG: a field of IHDR (size, bit depth, colour type, interlacing; its CRC made right again, so the damage
   * reaches the decoder), a chunk length, a chunk repeated (a second IHDR, more IDAT), or image data replaced by
   * deflated zeros of another size.
   */
  png(input: Uint8Array): { bytes: Uint8Array; how: string } {
    const b = new Uint8Array(input);
    const view = new DataView(b.buffer);
    if (b.length < 33) return this.generic(b);
    const chunks: Array<{ at: number; type: string; length: number }> = [];
    for (let at = 8; at + 12 <= b.length;) {
      const length = view.getUint32(at, false);
      chunks.push({ at, type: String.fromCharCode(...b.subarray(at + 4, at + 8)), length });
      at += 12 + length;
    }
    const fixIhdrCrc = (): void => view.setUint32(29, crc32(b.subarray(12, 29)), false);
    switch (this.int(0, 4)) {
      case 0: {
        const [field, offset, values] = this.pick([
          ['width', 16, [0, 1, 3, 4096, 4097, 20_000, 0x7fffffff, 0xffffffff]], ['height', 20, [0, 1, 3, 4096, 4097, 20_000, 0x7fffffff, 0xffffffff]],
        ] as const);
        const value = this.pick(values);
        view.setUint32(offset, value, false);
        fixIhdrCrc();
        return { bytes: b, how: `IHDR ${field} ${value}` };
      }
      case 1: {
        const [field, offset, values] = this.pick([
          ['bit depth', 24, [0, 1, 2, 3, 4, 8, 16, 255]], ['colour type', 25, [0, 1, 2, 3, 4, 5, 6, 7]], ['interlace', 28, [0, 1, 2]],
          ['compression', 26, [0, 1]], ['filter', 27, [0, 1]],
        ] as const);
        b[offset] = this.pick(values);
        fixIhdrCrc();
        return { bytes: b, how: `IHDR ${field} ${b[offset]}` };
      }
      case 2: {
        if (chunks.length === 0) return this.generic(b);
        const c = this.pick(chunks);
        const value = this.pick([0, c.length + 1, 0x7fffffff, 0xffffffff, b.length]);
        view.setUint32(c.at, value, false);
        return { bytes: b, how: `${c.type} length ${c.length} -> ${value}` };
      }
      case 3: {
        const whole = chunks.filter((x) => x.at + 12 + x.length <= b.length);
        if (whole.length === 0) return this.generic(b); // (pick on nothing would never return)
        const c = this.pick(whole);
        const copy = b.subarray(c.at, c.at + 12 + c.length);
        const where = this.pick(chunks).at;
        return { bytes: new Uint8Array(Buffer.concat([b.subarray(0, where), copy, b.subarray(where)])), how: `${c.type} repeated at ${where}` };
      }
      default: {
        const idat = chunks.find((x) => x.type === 'IDAT' && x.at + 12 + x.length <= b.length);
        if (!idat) return this.generic(b);
        const zeros = this.pick([0, 1, 100, 4096, 1 << 20, 8 << 20]);
        const data = zlib.deflateSync(Buffer.alloc(zeros));
        return { bytes: new Uint8Array(Buffer.concat([b.subarray(0, idat.at), chunk('IDAT', data), b.subarray(idat.at + 12 + idat.length)])), how: `IDAT of ${zeros} zeros` };
      }
    }
  }

  /** A zip (PyTorch checkpoint): a field of a central directory entry, of the end records, of a local header, or the pickle. */
  zip(input: Uint8Array): { bytes: Uint8Array; how: string } {
    const b = new Uint8Array(input); // a copy (Buffer's slice() would be a view)
    const view = new DataView(b.buffer);
    const find = (signature: number): number[] => {
      const at: number[] = [];
      for (let i = 0; i + 4 <= b.length; i++) if (view.getUint32(i, true) === signature) at.push(i);
      return at;
    };
    const central = find(0x02014b50), local = find(0x04034b50), end = find(0x06054b50), end64 = find(0x06064b50);
    const set = (offset: number, bytes: 2 | 4 | 8, what: string): { bytes: Uint8Array; how: string } => {
      if (offset + bytes > b.length) return { bytes: b, how: 'unchanged' };
      const old = bytes === 2 ? view.getUint16(offset, true) : bytes === 4 ? view.getUint32(offset, true) : Number(view.getBigUint64(offset, true));
      const value = this.pick([0, 1, old + 1, Math.max(0, old - 1), old * 2, 0xffff, 0xffffffff, 0x7fffffff, b.length, 2 ** 40]);
      if (bytes === 2) view.setUint16(offset, value & 0xffff, true);
      else if (bytes === 4) view.setUint32(offset, value >>> 0, true);
      else view.setBigUint64(offset, BigInt(value), true);
      return { bytes: b, how: `${what} ${old} -> ${value}` };
    };
    switch (this.int(0, 6)) {
      case 0:
      case 1: { // central directory entry: method, sizes, name length, extra length, local header offset
        if (central.length === 0) return this.generic(b);
        const c = this.pick(central);
        const [field, offset, size] = this.pick([['method', 10, 2], ['compressed size', 20, 4], ['uncompressed size', 24, 4], ['name length', 28, 2],
          ['extra length', 30, 2], ['comment length', 32, 2], ['local header offset', 42, 4]] as const);
        return set(c + offset, size, `central entry at ${c}: ${field}`);
      }
      case 2: { // end of central directory: entry counts, directory size and offset (zip64 too)
        if (end.length === 0) return this.generic(b);
        const e = this.chance(0.5) || end64.length === 0 ? end[end.length - 1] : end64[end64.length - 1];
        const fields: ReadonlyArray<readonly [string, number, 2 | 4 | 8]> = e === end64[end64.length - 1]
          ? [['zip64 entries', 32, 8], ['zip64 directory size', 40, 8], ['zip64 directory offset', 48, 8]]
          : [['entries on disk', 8, 2], ['entries', 10, 2], ['directory size', 12, 4], ['directory offset', 16, 4]];
        const [field, offset, size] = this.pick(fields);
        return set(e + offset, size, field);
      }
      case 3: { // local header: method, sizes, name and extra lengths
        if (local.length === 0) return this.generic(b);
        const l = this.pick(local);
        const [field, offset, size] = this.pick([['method', 8, 2], ['compressed size', 18, 4], ['uncompressed size', 22, 4], ['name length', 26, 2], ['extra length', 28, 2]] as const);
        return set(l + offset, size, `local header at ${l}: ${field}`);
      }
      case 4: { // the central directory overwritten with random bytes
        if (central.length === 0) return this.generic(b);
        const c = this.pick(central), n = this.int(1, 46);
        b.set(this.bytes(Math.min(n, b.length - c)), c);
        return { bytes: b, how: `central entry at ${c}: ${n} random bytes` };
      }
      default: { // inside the pickle (stored, so its bytes are in the file as they are): the CRC is not checked
        const pickleAt = local[0] ?? 0;
        if (pickleAt + 30 > b.length) return this.generic(b);
        const start = pickleAt + 30 + view.getUint16(pickleAt + 26, true) + view.getUint16(pickleAt + 28, true);
        const size = view.getUint32(pickleAt + 18, true);
        if (start + size > b.length || size === 0) return this.generic(b);
        const n = this.int(1, 4);
        for (let i = 0; i < n; i++) {
          const at = start + this.int(0, size - 1);
          b[at] = this.chance(0.5) ? this.int(0, 255) : b[at] ^ (1 << this.int(0, 7));
        }
        return { bytes: b, how: `${n} pickle bytes` };
      }
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeParse(text: unknown): unknown {
  try {
    return typeof text === 'string' ? JSON.parse(text) : text;
  } catch {
    return text;
  }
}

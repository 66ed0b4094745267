// PyTorch's legacy format (before 1.6, and with _use_new_zipfile_serialization=False): read on the allow-list VM,
// and damaged or hostile files refused with what is wrong and where. The files are PyTorch 1.13's
// (test/fixtures-gen/make-layout-fixtures.py); the damage is done here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTorchCheckpoint, readTorchContents } from '../lib/checkpoint';
import { legacyMagicLength } from '../lib/checkpoint/torch-legacy';

const file = readFileSync(join(__dirname, 'fixtures', 'layouts', 'legacy-sequential-0-2.pt'));
const layouts = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'layouts', 'layouts.json'), 'utf8'));
const errorOf = (bytes: Uint8Array): string => {
  try {
    readTorchCheckpoint(bytes, { source: 'legacy.pt' });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('read');
};

test("reads the state_dict's tensors exactly as PyTorch saved them", () => {
  const tensors = readTorchCheckpoint(file);
  const want = layouts['legacy-sequential-0-2.pt'].parameters;
  expect(Object.keys(tensors)).toEqual(Object.keys(want));
  for (const name of Object.keys(want)) expect(Array.from(tensors[name].data)).toEqual(want[name]);
  expect(readTorchContents(file).entry).toBeUndefined();
});

test('the magic number is matched byte for byte, protocol 2 as torch.save writes it', () => {
  expect(legacyMagicLength(file)).toBe(15);
  expect(legacyMagicLength(Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e))).toBe(15);
  expect(legacyMagicLength(Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x18, 0x2e))).toBe(-1);
});

test('a file cut short in its storages', () => {
  expect(errorOf(file.subarray(0, file.length - 4))).toMatch(/^legacy\.pt: legacy format: storage '\d+' claims \d+ F32 elements but \d+ bytes remain$/);
});

test('bytes after the last storage', () => {
  expect(errorOf(Buffer.concat([file, Buffer.of(0)]))).toBe('legacy.pt: legacy format: 1 unexpected bytes after the last storage');
});

test('an element count that would reach past the file', () => {
  const damaged = Buffer.from(file);
  // The storages (of 20, 4, 12 and 3 floats) come in the order of their keys: find the last by its count.
  const last = [20, 4, 12, 3].find((n) => damaged.readBigInt64LE(damaged.length - 4 * n - 8) === BigInt(n)) as number;
  damaged.writeBigInt64LE(1n << 40n, damaged.length - 4 * last - 8);
  expect(errorOf(damaged)).toMatch(new RegExp(`^legacy\\.pt: legacy format: storage '\\d+' claims 1099511627776 F32 elements but ${4 * last} bytes remain$`));
});

test('a big-endian file', () => {
  const damaged = Buffer.from(file);
  const flag = damaged.indexOf(Buffer.from('little_endian'));
  // NEWTRUE (0x88) after the key and its BINPUT (q, 1 byte): make it NEWFALSE (0x89).
  const at = damaged.indexOf(0x88, flag);
  damaged[at] = 0x89;
  expect(errorOf(damaged)).toBe('legacy.pt: legacy format: written on a big-endian machine; only little-endian files can be read');
});

test('a global outside the allow-list is refused before anything runs', () => {
  const damaged = Buffer.from(file);
  const at = damaged.indexOf(Buffer.from('collections\nOrderedDict\n'));
  Buffer.from('posix\nsystem___________\n').copy(damaged, at); // the same 24 bytes
  expect(errorOf(damaged)).toMatch(/^Refusing to load legacy\.pt: pickle global 'posix system___________' is not allowed \(allowed: collections OrderedDict, /);
});

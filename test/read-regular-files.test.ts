// Every reader opens files through lib/io/read-file.ts (kind 5 of issue 15): a device, a FIFO or a folder is
// refused at once with what it is, and a file over the reader's ceiling is refused before it is read.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrainingCheckpoint, readModelWeights, readSafetensorsFile, readTorchCheckpoint } from '../lib/checkpoint';
import { readIdxFile } from '../lib/data/idx';
import { readImageFile } from '../lib/image/read-image';
import { readPngFile } from '../lib/image/read-png';
import { readRegularFile } from '../lib/io/read-file';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'fcnet-regular-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const readers: Array<[string, (path: string) => unknown]> = [
  ['readIdxFile', readIdxFile],
  ['readPngFile', readPngFile],
  ['readImageFile', readImageFile],
  ['readModelWeights', readModelWeights],
  ['readSafetensorsFile', readSafetensorsFile],
  ['readTorchCheckpoint', readTorchCheckpoint],
  ['loadTrainingCheckpoint', loadTrainingCheckpoint],
];

describe.each(readers)('%s', (_name, read) => {
  test('refuses /dev/zero, a FIFO and a directory at once, saying what each is', () => {
    const fifo = join(dir, `fifo-${_name}`);
    execFileSync('mkfifo', [fifo]);
    // Without a writer, a blocking open of the FIFO would never return; no memory is taken for /dev/zero.
    expect(() => read('/dev/zero')).toThrow(new Error('Cannot read /dev/zero: it is a character device, not a regular file'));
    expect(() => read(fifo)).toThrow(new Error(`Cannot read ${fifo}: it is a FIFO (named pipe), not a regular file`));
    expect(() => read(dir)).toThrow(new Error(`Cannot read ${dir}: it is a directory, not a regular file`));
  });

  test('names a missing file, with its error code', () => {
    const missing = join(dir, 'missing');
    let error: NodeJS.ErrnoException | undefined;
    try {
      read(missing);
    } catch (e) {
      error = e as NodeJS.ErrnoException;
    }
    expect(error?.message).toBe(`Cannot read ${missing}: ENOENT: no such file or directory, open '${missing}'`);
    expect(error?.code).toBe('ENOENT');
  });
});

test('a file over the ceiling is refused before it is read', () => {
  const file = join(dir, 'big.bin');
  fs.writeFileSync(file, Buffer.alloc(5000));
  expect(() => readRegularFile(file, { what: 'an IDX file', maxBytes: 4999 })).toThrow(
    new Error(`Cannot read ${file}: it is 5,000 bytes, over the 4,999-byte limit for an IDX file`),
  );
  expect(readRegularFile(file, { what: 'an IDX file', maxBytes: 5000 }).length).toBe(5000);
  expect(() => readIdxFile(file, { maxBytes: 1000 })).toThrow(
    new Error(`Cannot read ${file}: it is 5,000 bytes, over the 1,000-byte limit for an IDX file`),
  );
});

// writeFileAtomic: the target holds either its old bytes or all the new ones, and no temporary file is left.
import fs = require('node:fs'); // the module object itself, so jest can spy on its functions
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/checkpoint';

let folder: string;
beforeEach(() => {
  folder = fs.mkdtempSync(join(tmpdir(), 'fcnet-atomic-'));
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(folder, { recursive: true, force: true });
});

const thrownBy = (action: () => void): NodeJS.ErrnoException => {
  try {
    action();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error('it did not throw');
};

test('writes a new file, syncing the file and its folder, and leaves nothing else behind', () => {
  const fsync = jest.spyOn(fs, 'fsyncSync');
  const path = join(folder, 'model.safetensors');
  writeFileAtomic(path, Uint8Array.of(1, 2, 3));
  expect([...fs.readFileSync(path)]).toEqual([1, 2, 3]);
  expect(fs.readdirSync(folder)).toEqual(['model.safetensors']);
  expect(fsync).toHaveBeenCalledTimes(2);
});

test('replaces an existing file, and writes only the bytes of a view', () => {
  const path = join(folder, 'model.safetensors');
  fs.writeFileSync(path, 'old contents, longer than the new');
  const buffer = Uint8Array.of(9, 8, 7, 6, 5);
  writeFileAtomic(path, buffer.subarray(1, 4));
  expect([...fs.readFileSync(path)]).toEqual([8, 7, 6]);
  expect(fs.readdirSync(folder)).toEqual(['model.safetensors']);
});

test('writes large files completely, even when the OS takes fewer bytes per write', () => {
  const realWrite = fs.writeSync;
  // Accept at most 1000 bytes per call, as a slow or full pipe might.
  jest.spyOn(fs, 'writeSync').mockImplementation(((fd: number, bytes: Uint8Array, offset: number, length: number) =>
    realWrite(fd, bytes, offset, Math.min(length, 1000))) as typeof fs.writeSync);
  const bytes = Uint8Array.from({ length: 4321 }, (_, i) => i % 251);
  const path = join(folder, 'big.bin');
  writeFileAtomic(path, bytes);
  expect(fs.readFileSync(path).equals(bytes)).toBe(true);
});

test('a failed write keeps the old file and removes the temporary one', () => {
  const path = join(folder, 'model.safetensors');
  fs.writeFileSync(path, 'old');
  jest.spyOn(fs, 'writeSync').mockImplementation(() => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  });
  const error = thrownBy(() => writeFileAtomic(path, Uint8Array.of(1, 2, 3)));
  expect(error.message).toBe(`Cannot write ${path}: ENOSPC: no space left on device, write`);
  expect(error.code).toBe('ENOSPC');
  expect(fs.readFileSync(path, 'utf8')).toBe('old');
  expect(fs.readdirSync(folder)).toEqual(['model.safetensors']);
});

test('a failed rename (the target is a folder) removes the temporary file', () => {
  const path = join(folder, 'taken');
  fs.mkdirSync(path);
  fs.writeFileSync(join(path, 'inside'), 'x');
  const error = thrownBy(() => writeFileAtomic(path, Uint8Array.of(1)));
  expect(error.message).toMatch(new RegExp(`^Cannot write ${path}: EISDIR: illegal operation on a directory, rename`));
  expect(fs.readdirSync(folder)).toEqual(['taken']);
});

test('a missing folder is reported with the path asked for', () => {
  const path = join(folder, 'no-such-folder', 'model.safetensors');
  const error = thrownBy(() => writeFileAtomic(path, Uint8Array.of(1)));
  expect(error.message).toMatch(new RegExp(`^Cannot write ${path}: ENOENT: no such file or directory, open`));
  expect(error.code).toBe('ENOENT');
});

test('a save removes the temporaries that killed saves of the same file left, and nothing else', () => {
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid as number; // it has exited
  let made = 0;
  const temporary = (file: string, pid: number, ageMinutes: number): string => {
    const name = `.${file}.${pid}.${(++made).toString(16).padStart(12, '0')}.tmp`;
    fs.writeFileSync(join(folder, name), 'half a checkpoint');
    const when = new Date(Date.now() - ageMinutes * 60_000);
    fs.utimesSync(join(folder, name), when, when);
    return name;
  };
  const abandoned = temporary('run.ckpt', deadPid, 60);
  const kept = [
    temporary('run.ckpt', deadPid, 1), // too recent: a writer on another machine may still be at it
    temporary('run.ckpt', process.ppid, 60), // its writer still runs
    temporary('other.ckpt', deadPid, 60), // another file's
  ];
  writeFileAtomic(join(folder, 'run.ckpt'), Uint8Array.of(1));
  const left = fs.readdirSync(folder);
  expect(left).not.toContain(abandoned);
  expect(left.sort()).toEqual(['run.ckpt', ...kept].sort());
});

test('a replaced file keeps its permission bits; a new one gets the usual ones', () => {
  const path = join(folder, 'model.safetensors');
  fs.writeFileSync(path, 'old');
  fs.chmodSync(path, 0o640);
  writeFileAtomic(path, Uint8Array.of(1));
  expect(fs.statSync(path).mode & 0o7777).toBe(0o640);
  fs.chmodSync(path, 0o600);
  writeFileAtomic(path, 'text is written as UTF-8: é');
  expect(fs.statSync(path).mode & 0o7777).toBe(0o600);
  expect(fs.readFileSync(path, 'utf8')).toBe('text is written as UTF-8: é');
  const fresh = join(folder, 'fresh.bin');
  writeFileAtomic(fresh, Uint8Array.of(1));
  const umask = process.umask();
  expect(fs.statSync(fresh).mode & 0o7777).toBe(0o666 & ~umask);
});

test('a symlink at the path is replaced by the file, never written through', () => {
  const victim = join(folder, 'victim.txt');
  fs.writeFileSync(victim, 'not yours');
  const path = join(folder, 'plot.svg');
  fs.symlinkSync(victim, path);
  writeFileAtomic(path, '<svg/>');
  expect(fs.readFileSync(victim, 'utf8')).toBe('not yours');
  expect(fs.lstatSync(path).isFile()).toBe(true);
  expect(fs.readFileSync(path, 'utf8')).toBe('<svg/>');
});

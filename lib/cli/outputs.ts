// The files and folders a command will write, checked before it starts the work: a run of minutes must not
// be lost because its --output cannot be written at the end.
import { accessSync, closeSync, constants, openSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null; // ENOTDIR: a file where a folder of the path should be
    throw new Error(`cannot check ${path}: ${(e as Error).message}`);
  }
}

/**
 * Creates and removes a file named like the temporary file an atomic save of `name` uses beside it
 * (`.NAME.PID.RANDOM.tmp`, lib/checkpoint/atomic-write.ts): the one test that answers for permissions,
 * read-only file systems and names too long for the file system at once.
 */
function probeWrite(folder: string, name: string, flag: string, path: string): void {
  const probe = join(folder, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENAMETOOLONG') {
      throw new Error(`${flag} ${path}: the name is too long: fcnet saves through a temporary file beside it, .${name}.<pid>.<random>.tmp, which the file system refuses; choose a shorter name`);
    }
    throw new Error(`${flag} ${path}: cannot write into ${folder} (${code ?? (e as Error).message})`);
  }
  unlinkSync(probe);
}

/** Checks that `path` can be written as a file: its folder exists and takes files, and it is not a folder. */
export function checkOutputFile(path: string, flag: string): void {
  const file = resolve(path);
  if (statOrNull(file)?.isDirectory()) throw new Error(`${flag} ${path} is a folder; name a file (e.g. ${join(path, 'model.safetensors')})`);
  const folder = dirname(file);
  const stats = statOrNull(folder);
  if (stats === null) throw new Error(`${flag} ${path}: the folder ${dirname(path)} does not exist`);
  if (!stats.isDirectory()) throw new Error(`${flag} ${path}: ${dirname(path)} is not a folder`);
  probeWrite(folder, basename(file), flag, path);
}

/**
 * Checks that files named `names` can be written into the folder `path`, which is created when missing: it
 * is a folder (or can be made in the nearest folder above that exists) and takes those files.
 */
export function checkOutputFolder(path: string, flag: string, names: readonly string[]): void {
  let folder = resolve(path);
  let stats = statOrNull(folder);
  if (stats !== null) {
    if (!stats.isDirectory()) throw new Error(`${flag} ${path} is a file, not a folder`);
    for (const name of names) probeWrite(folder, name, flag, join(path, name));
    return;
  }
  while (stats === null) {
    folder = dirname(folder);
    stats = statOrNull(folder);
  }
  if (!stats.isDirectory()) throw new Error(`${flag} ${path}: ${folder} is a file, so the folder cannot be made`);
  try {
    accessSync(folder, constants.W_OK);
  } catch (e) {
    throw new Error(`${flag} ${path}: cannot make the folder in ${folder} (${(e as NodeJS.ErrnoException).code})`);
  }
}

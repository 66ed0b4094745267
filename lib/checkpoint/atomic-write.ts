// Writing a file so that readers (and a crash) see either the old contents or the new, never half of them.

import { closeSync, fchmodSync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';

function writeAll(fd: number, bytes: Uint8Array): void {
  // writeSync may write less than asked (large buffers, some file systems).
  for (let written = 0; written < bytes.length;) {
    written += writeSync(fd, bytes, written, bytes.length - written);
  }
}

function ignoreErrors(cleanUp: () => unknown): void {
  try {
    cleanUp();
  } catch {
    // cleaning up must not hide the error that made it necessary
  }
}

/** Makes the rename itself durable; some platforms (Windows) cannot open or sync a folder, which is fine. */
function fsyncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, 'r');
    fsyncSync(fd);
  } catch {
    // best effort only
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'; // EPERM: it exists, as someone else's
  }
}

// Older than any save takes, so a writer on another machine sharing the folder is never disturbed.
const STALE_AFTER_MS = 10 * 60 * 1000;

/**
 * Removes the temporary files that earlier saves of `path` left when their process was killed mid-write:
 * their writer no longer runs here and they have not changed for STALE_AFTER_MS.
 */
function removeAbandonedTemporaries(folder: string, path: string): void {
  const pattern = new RegExp(`^\\.${escapeRegExp(basename(path))}\\.(\\d+)\\.[0-9a-f]{12}\\.tmp$`);
  for (const name of readdirSync(folder)) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!pid || pid === process.pid || !processIsGone(pid)) continue;
    const file = join(folder, name);
    ignoreErrors(() => Date.now() - statSync(file).mtimeMs > STALE_AFTER_MS && unlinkSync(file));
  }
}

/** The permission bits of the regular file at `path`, or undefined when there is none (or a symlink). */
function modeOfReplaced(path: string): number | undefined {
  try {
    const stats = lstatSync(path);
    return stats.isFile() ? stats.mode & 0o7777 : undefined;
  } catch {
    return undefined; // no file yet: the new one gets the usual 0o666 less the umask
  }
}

/**
 * Writes `bytes` to `path` atomically: into a temporary file in the same folder (a rename is only atomic
 * within one file system), synced to disk, then renamed over `path`. On failure the temporary file is removed
 * and `path` keeps its old contents; the error says `Cannot write <path>: ...`. A file replaced keeps its
 * permission bits. A symlink at `path` is replaced by the file, never written through: the file it pointed
 * to is left as it was. After a successful write, temporaries abandoned by killed saves of the same file are
 * removed.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  if (typeof bytes === 'string') bytes = Buffer.from(bytes, 'utf8');
  const folder = dirname(resolve(path));
  const temporary = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = modeOfReplaced(path);
  let fd: number | undefined;
  try {
    fd = openSync(temporary, 'wx'); // 'x': never follow or reuse someone else's file
    if (mode !== undefined) fchmodSync(fd, mode);
    writeAll(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, path);
  } catch (error) {
    ignoreErrors(() => fd !== undefined && closeSync(fd));
    ignoreErrors(() => unlinkSync(temporary)); // it may never have been created
    // Node's own errors may come from another realm (jest, vm), so read the fields rather than test instanceof.
    const { message, code } = error as NodeJS.ErrnoException;
    throw Object.assign(new Error(`Cannot write ${path}: ${message}`, { cause: error }), { code });
  }
  fsyncFolder(folder);
  ignoreErrors(() => removeAbandonedTemporaries(folder, path));
}

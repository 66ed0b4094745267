// The one way fcnet reads a file: open it, check with fstat on the open descriptor (no race with a rename)
// that it is a regular file, refuse it if it is larger than the reader's ceiling, then read exactly its size.
// A device (/dev/zero), a FIFO, a socket or a folder gets a clear error at once instead of an endless read,
// a hang, or an attempt to allocate whatever a device claims.

import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

export interface ReadFileLimits {
  /** What the file should be, with its article, for messages: 'an IDX file', 'a PNG image'. */
  what: string;
  /** Larger files are refused before any memory is taken for them. */
  maxBytes: number;
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever if none comes.
// It changes nothing for regular files. (Not on Windows, which has no FIFOs to open this way.)
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** An Error for `path` that keeps Node's error code (ENOENT, EACCES, ...) when there is one. */
function cannotRead(path: string, problem: string, cause?: unknown): Error {
  const error = new Error(`Cannot read ${path}: ${problem}`, cause === undefined ? undefined : { cause });
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return code === undefined ? error : Object.assign(error, { code });
}

/**
 * The bytes of the regular file at `path`. Throws `Cannot read <path>: ...` when it cannot be opened, is not a
 * regular file, or holds more than `limits.maxBytes` bytes (checked before the buffer is allocated).
 */
export function readRegularFile(path: string, limits: ReadFileLimits): Buffer {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    throw cannotRead(path, (error as Error).message, error);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw cannotRead(path, `it is ${kindOf(stats)}, not a regular file`);
    if (stats.size > limits.maxBytes) {
      throw cannotRead(path, `it is ${stats.size.toLocaleString('en-US')} bytes, over the ${limits.maxBytes.toLocaleString('en-US')}-byte limit for ${limits.what}`);
    }
    const bytes = Buffer.allocUnsafe(stats.size);
    let filled = 0;
    try {
      while (filled < bytes.length) {
        const read = readSync(fd, bytes, filled, bytes.length - filled, null);
        if (read === 0) break; // the file shrank while we read: the format's own checks say what is missing
        filled += read;
      }
    } catch (error) {
      throw cannotRead(path, (error as Error).message, error);
    }
    return bytes.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

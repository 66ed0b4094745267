// One training run per checkpoint file: `FILE.lock`, created exclusively ('wx') beside it, holds the owner's
// process id, host and start time. A second `fcnet train --checkpoint FILE` finds it and refuses, naming that
// process. A lock whose process is gone (killed, the machine restarted) is stale and taken over.
//
// Own code rather than proper-lockfile: that library's lock is a directory refreshed on a timer and judged
// stale by its age, so it can neither name the process that holds it (which the refusal should say) nor see
// at once that the process is gone; an exclusive create and a pid check are the whole of what is needed here.
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

interface LockOwner {
  pid: number;
  host: string;
  started: string;
}

/** Locks this process holds: a lock file naming our own pid but not held here is a dead process's (pid reuse). */
const held = new Set<string>();

function readOwner(lockFile: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(lockFile, 'utf8')) as LockOwner;
    return Number.isInteger(owner.pid) && typeof owner.host === 'string' ? owner : null;
  } catch {
    return null; // half-written (a run starting this instant) or not a lock of ours: never judged stale
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, but another user's
  }
}

/** A lock is stale when it names a process of this host that no longer runs. */
function isStale(lockFile: string, owner: LockOwner | null): boolean {
  if (owner === null) return false; // a lock being written right now, or not ours to judge: refuse
  if (owner.host !== hostname()) return false; // another machine's process (a shared folder): cannot tell
  if (owner.pid === process.pid) return !held.has(lockFile);
  return !alive(owner.pid);
}

function create(lockFile: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(lockFile, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`cannot create the lock file ${lockFile}: ${(e as Error).message}`);
  }
  try {
    writeSync(fd, JSON.stringify(owner) + '\n');
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Moves a stale lock out of the way. Two runs may find the same stale lock: each renames it to a name of its
 * own, and one that finds it moved a live lock instead (the other run's new one) puts it back and refuses.
 */
function removeStale(lockFile: string, stale: LockOwner): void {
  const aside = `${lockFile}.stale.${process.pid}`;
  try {
    renameSync(lockFile, aside);
  } catch {
    return; // already moved by another run
  }
  const moved = readOwner(aside);
  if (moved && (moved.pid !== stale.pid || moved.started !== stale.started)) {
    try {
      linkSync(aside, lockFile); // back where it was, unless a third run has a lock there by now
    } catch {
      /* the lock file is someone's either way */
    }
  }
  unlinkSync(aside);
}

/**
 * Takes the lock on `file` for this process; returns the function that releases it (also run at exit).
 * Throws, naming the process that holds it, when another live run has it.
 */
export function lockFile(file: string, purpose: string): () => void {
  const lock = `${file}.lock`;
  const owner: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; !create(lock, owner); attempt++) {
    const other = readOwner(lock);
    if (attempt < 2 && other && isStale(lock, other)) {
      removeStale(lock, other);
      continue;
    }
    const who = other
      ? `process ${other.pid}${other.host === hostname() ? '' : ` on ${other.host}`}, started ${other.started}`
      : 'another process';
    throw new Error(
      `${file}: in use by ${who}, which holds ${lock}; ${purpose}. ` +
        `Wait for that run to end, or name another file; if no such run is left, delete ${lock}`,
    );
  }
  held.add(lock);
  const release = (): void => {
    process.removeListener('exit', release);
    if (!held.delete(lock)) return;
    try {
      const current = readOwner(lock);
      if (current?.pid === owner.pid && current.started === owner.started) unlinkSync(lock);
    } catch {
      /* already gone */
    }
  };
  process.on('exit', release); // process.exit() elsewhere; a kill leaves a stale lock, taken over next time
  return release;
}

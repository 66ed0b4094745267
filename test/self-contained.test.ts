// A clone is the whole project: no tracked file may name the shared folder that once sat beside the checkout
// (its fixtures, reference program and checkpoint now live in test/fixtures/, scripts/reference/, examples/).
// A clone without that folder would otherwise meet skipped comparisons and README examples that fail.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../lib/package-root';

const root = packageRoot();
// Spelled in pieces so that this file does not match itself.
const SHARED = 'shared';
const outside: Array<[string, RegExp]> = [
  [`../${SHARED}`, new RegExp(`\\.\\./${SHARED}\\b`)],
  [`'..', '${SHARED}'`, new RegExp(`['"]\\.\\.['"],\\s*['"]${SHARED}['"]`)], // path.join(root, '..', SHARED)
  [`${SHARED}/fixtures or ${SHARED}/reference`, new RegExp(`\\b${SHARED}/(fixtures|reference)\\b`)],
  [`/work/${SHARED}`, new RegExp(`/work/${SHARED}\\b`)],
];

/** The tracked files, or why they cannot be listed. */
function trackedFiles(): string[] | string {
  const git = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (git.error) return `git could not run (${git.error.message})`;
  if (git.status !== 0) return `git ls-files failed: ${git.stderr.trim()}`;
  return git.stdout.split('\0').filter((file) => file !== '');
}

const tracked = trackedFiles();
if (typeof tracked === 'string' && !process.env.CI) {
  console.warn(`skipped: ${tracked} (not a git checkout?)`);
  test.skip(`no tracked file names the old shared folder (skipped: ${tracked})`, () => undefined);
} else {
  test('no tracked file names the old shared folder beside the checkout', () => {
    if (typeof tracked === 'string') throw new Error(tracked);
    expect(tracked).toContain('README.md');
    const found: string[] = [];
    for (const file of tracked) {
      const path = join(root, file);
      if (!existsSync(path)) continue; // deleted in the work tree, not yet committed
      const bytes = readFileSync(path);
      if (bytes.subarray(0, 8000).includes(0)) continue; // binary, as git decides
      bytes.toString('utf8').split('\n').forEach((line, k) => {
        for (const [what, pattern] of outside) if (pattern.test(line)) found.push(`${file}:${k + 1}: ${what}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });

  test('the check finds each spelling', () => {
    const lines = [`see ../${SHARED}/fixtures`, `path.join(root, '..', "${SHARED}", 'x')`, `${SHARED}/reference/x.py`, `/work/${SHARED}/x`];
    expect(lines.map((line) => outside.filter(([, pattern]) => pattern.test(line)).length > 0)).toEqual([true, true, true, true]);
    expect(outside.some(([, pattern]) => pattern.test('a shared dataset; sharedArrayBuffer; ../sharedmemory'))).toBe(false);
  });
}

// fcnet's own version, read from its package.json: checkpoints record which fcnet wrote them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './package-root';

let cached: string | undefined;

/** The version in fcnet's package.json, e.g. '0.1.0'. */
export function fcnetVersion(): string {
  cached ??= String(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version);
  return cached;
}

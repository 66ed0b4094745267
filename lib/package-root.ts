import * as fs from 'fs';
import * as path from 'path';

let cached: string | undefined;

/** The folder of fcnet's package.json: the code runs from lib/ (tests) and from dist/lib/ (compiled). */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'fcnet') return (cached = dir);
    if (path.dirname(dir) === dir) throw new Error(`fcnet: cannot find fcnet's package.json above ${__dirname}`);
  }
}

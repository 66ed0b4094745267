// The ESM entry (lib/esm/index.mjs over the compiled CommonJS in dist/): `import { MLP } from 'fcnet'` works,
// has every export the CommonJS entry has, and is the same module instance, not a second copy.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../lib/package-root';

const root = packageRoot();

/** Runs an ES module in fcnet's folder, where 'fcnet' resolves to the package itself through its exports map. */
function runModule(source: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', source], { cwd: root, encoding: 'utf8' });
}

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
});

test('the ESM entry has exactly the CommonJS exports, plus default, and shares their instances', () => {
  const out = runModule(`
    import * as esm from 'fcnet';
    import fcnet from 'fcnet';
    import { createRequire } from 'node:module';
    const cjs = createRequire(process.cwd() + '/')('fcnet');
    console.log(JSON.stringify({
      esm: Object.keys(esm).filter((k) => k !== 'default' && k !== '__esModule').sort(),
      cjs: Object.keys(cjs).sort(),
      same: Object.keys(cjs).every((k) => esm[k] === cjs[k]) && fcnet === cjs,
    }));`);
  const { esm, cjs, same } = JSON.parse(out) as { esm: string[]; cjs: string[]; same: boolean };
  const missing = cjs.filter((k) => !esm.includes(k));
  if (missing.length) throw new Error(`Node's ESM loader did not find ${missing.join(', ')} in dist/lib/index.js: name them in lib/esm/index.mjs`);
  expect(esm).toEqual(cjs);
  expect(cjs).toEqual(expect.arrayContaining(['MLP', 'Adam', 'fit', 'createDataset', 'backends']));
  expect(same).toBe(true);
});

test('import { MLP, fit } from "fcnet" trains', () => {
  const out = runModule(`
    import { MLP, Adam, fit, createDataset } from 'fcnet';
    const pixels = Uint8Array.from({ length: 32 * 16 }, (_, i) => (i * 37) % 256);
    const data = createDataset(pixels, Array.from({ length: 32 }, (_, i) => i % 3), [4, 4]);
    const model = new MLP({ sizes: [16, 8, 3], backend: 'js' });
    let loss = NaN;
    await fit(model, new Adam(model), data, { epochs: 2, batchSize: 8, onEpoch: (e) => { loss = e.meanLoss; } });
    console.log(loss);`);
  expect(Number(out)).toBeGreaterThan(0);
  expect(Number.isFinite(Number(out))).toBe(true);
});

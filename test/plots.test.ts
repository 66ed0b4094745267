// `fcnet train --plots DIR` and `fcnet eval MODEL --plots DIR` on a small MNIST-shaped folder: the SVG
// files parse as XML and hold what the network did (every count of the confusion matrix, every mistake
// shown, a point per logged loss, each epoch's accuracy). vega and vega-lite are ES modules, which Jest's
// CommonJS runtime cannot import, so the commands run in a child process from the compiled dist/.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { loadMLP, writeSafetensorsFile } from '../lib/checkpoint';
import { loadMnistTestSet } from '../lib/data/mnist';
import { MLP } from '../lib/model';
import { classify, confusionMatrix, mistakes } from '../lib/plots/classify';
import { packageRoot } from '../lib/package-root';
import { PLOT_FILES } from '../lib/plots/write';
import { Rng } from '../lib/rng';
import { evaluate } from '../lib/train';
import { syntheticDigits, writeIdxFolder, type ImageSet } from './support/idx-folder';

const SIDE = 8;
const root = packageRoot();
const cli = join(root, 'dist', 'lib', 'cli', 'main.js');

const imageSet = (n: number, rng: Rng): ImageSet => syntheticDigits(n, rng, SIDE);

/** Runs `fcnet ARGS` from dist/ and returns stdout and stderr; throws with stderr when it fails. */
function fcnet(args: string[]): { stdout: string; stderr: string } {
  const { status, stdout, stderr } = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8' });
  if (status !== 0) throw new Error(`fcnet ${args.join(' ')} exited with ${status}:\n${stderr}`);
  return { stdout, stderr };
}

interface Element {
  name: string;
  attributes: Record<string, string>;
  text: string;
}

/** Every element named `name`, anywhere in the SVG, with its attributes and text. */
function elements(svg: string, name: string): Element[] {
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false, parseAttributeValue: false, trimValues: false }).parse(svg);
  const found: Element[] = [];
  const walk = (node: unknown, tag: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, tag));
    if (tag === name) {
      const attributes: Record<string, string> = {};
      let text = '';
      if (typeof node === 'string') text = node;
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === '#text') text = String(v);
          else if (typeof v === 'string') attributes[k] = v;
        }
      }
      found.push({ name, attributes, text });
    }
    if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) if (typeof v === 'object') walk(v, k);
  };
  walk(parsed, '');
  return found;
}

/** The file's text, after checking that it is well-formed XML with an <svg> root of positive size. */
function readSvg(file: string): string {
  const svg = readFileSync(file, 'utf8');
  expect(XMLValidator.validate(svg)).toBe(true);
  const [root] = elements(svg, 'svg');
  expect(root.attributes.xmlns).toBe('http://www.w3.org/2000/svg');
  expect(Number(root.attributes.width)).toBeGreaterThan(100);
  expect(Number(root.attributes.height)).toBeGreaterThan(100);
  return svg;
}

let folder: string;
const at = (name: string): string => join(folder, name);
let trained: { stdout: string; stderr: string };

beforeAll(() => {
  if (!existsSync(cli)) throw new Error('dist/ is missing: run `npm run build` first');
  folder = mkdtempSync(join(tmpdir(), 'fcnet-plots-'));
  const rng = new Rng(11);
  writeIdxFolder(folder, SIDE, imageSet(300, rng), imageSet(150, rng));
  trained = fcnet([
    'train', '--data', folder, '--epochs', '3', '--batch-size', '16', '--hidden', '16', '--lr', '0.01', '--seed', '2',
    '--backend', 'cpu', '--log-every', '4', '--plain', '--output', at('model.safetensors'), '--plots', at('plots'),
  ]);
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

test('classify agrees with evaluate; the confusion matrix counts every image once', () => {
  const model = loadMLP(at('model.safetensors'), { backend: 'cpu' });
  const test = loadMnistTestSet(folder);
  const c = classify(model, test);
  const counts = confusionMatrix(test.labels, c.predicted, 10);
  expect(counts.flat().reduce((a, b) => a + b, 0)).toBe(150);
  expect(counts.reduce((sum, row, i) => sum + row[i], 0)).toBe(evaluate(model, test).correct);
  const { first, total } = mistakes(test.labels, c, 5);
  expect(total).toBe(150 - evaluate(model, test).correct);
  expect(first.length).toBe(Math.min(5, total));
  for (const m of first) expect(m.predicted).not.toBe(m.label);
});

test('train --plots writes four SVG files that parse, and says so', () => {
  for (const name of Object.values(PLOT_FILES)) readSvg(join(at('plots'), name));
  expect(trained.stderr).toContain(`fcnet: drew ${Object.values(PLOT_FILES).map((n) => join(at('plots'), n)).join(', ')}`);
  // --plots leaves stdout as it was: the reference lines only.
  expect(trained.stdout.trim().split('\n').every((l) => /^Epoch \[\d\/3\], Step \[\d+\/19\], Loss: \d+\.\d{4}$|^Accuracy of the network/.test(l))).toBe(true);
});

test('confusion-matrix.svg: a count on every cell, as the network answered', () => {
  const model = loadMLP(at('model.safetensors'), { backend: 'cpu' });
  const test = loadMnistTestSet(folder);
  const counts = confusionMatrix(test.labels, classify(model, test).predicted, 10);
  const svg = readSvg(join(at('plots'), PLOT_FILES.confusion));
  const cells = elements(svg, 'text')
    .map((t) => ({ label: /^predicted digit: (\d); true digit: (\d); count: (\d+)$/.exec(t.attributes['aria-label'] ?? ''), text: t.text }))
    .filter((c) => c.label !== null);
  expect(cells).toHaveLength(100);
  const seen = Array.from({ length: 10 }, () => new Array<number>(10).fill(-1));
  for (const { label, text } of cells) {
    const [, predicted, truth, count] = label!.map(Number);
    expect(text).toBe(String(count));
    seen[truth][predicted] = count;
  }
  expect(seen).toEqual(counts);
  const correct = counts.reduce((sum, row, i) => sum + row[i], 0);
  expect(svg).toContain(`on 150 test images: ${correct} right (${((100 * correct) / 150).toFixed(2)} %)`);
});

test('misclassified.svg: each mistake as an image captioned true → predicted', () => {
  const model = loadMLP(at('model.safetensors'), { backend: 'cpu' });
  const test = loadMnistTestSet(folder);
  const { first, total } = mistakes(test.labels, classify(model, test), 64);
  const svg = readSvg(join(at('plots'), PLOT_FILES.misclassified));
  const images = elements(svg, 'image');
  expect(images.map((i) => i.attributes['aria-label'].replace(/ \(\d+ % sure\)$/, ''))).toEqual(first.map((m) => `test image ${m.index}: true ${m.label}, predicted ${m.predicted}`));
  expect(images.every((i) => i.attributes['xlink:href'].startsWith('data:image/png;base64,'))).toBe(true);
  const captions = elements(svg, 'text').map((t) => t.text).filter((t) => t.includes('→'));
  expect(captions).toEqual(first.map((m) => `${m.label} → ${m.predicted}`));
  expect(svg).toContain(total === first.length ? `all ${total} in test-set order` : `the first ${first.length} of ${total}`);
});

test('loss.svg has a point per logged loss; accuracy.svg each epoch\'s test accuracy', () => {
  const logged = trained.stdout.split('\n').filter((l) => l.startsWith('Epoch ['));
  expect(logged).toHaveLength(3 * 4); // steps 4, 8, 12, 16 of 19 in each of 3 epochs
  const loss = readSvg(join(at('plots'), PLOT_FILES.loss));
  const points = elements(loss, 'path').filter((p) => p.attributes['aria-roledescription'] === 'point');
  // Each point is a printed line: `Epoch [e/3], Step [s/19], Loss: x` at step (e - 1) · 19 + s, loss x.
  expect(points.map((p) => {
    const [, step, value] = /^step: (\d+); loss \(cross-entropy, log scale\): ([\d.]+)$/.exec(p.attributes['aria-label'])!;
    const epoch = Math.floor((Number(step) - 1) / 19);
    return `Epoch [${epoch + 1}/3], Step [${Number(step) - 19 * epoch}/19], Loss: ${Number(value).toFixed(4)}`;
  })).toEqual(logged);
  expect(loss).toContain('the loss printed every 4 steps');
  const percents = [...trained.stderr.matchAll(/test accuracy (\d+\.\d\d) %/g)].map((m) => `${m[1]} %`);
  expect(percents).toHaveLength(3);
  const accuracy = readSvg(join(at('plots'), PLOT_FILES.accuracy));
  expect(elements(accuracy, 'text').map((t) => t.text).filter((t) => t.endsWith(' %'))).toEqual(percents);
});

test('eval --plots draws the test-set pictures, at most 64 mistakes, and --json lists them', () => {
  const untrained = new MLP({ sizes: [SIDE * SIDE, 16, 10], seed: 1, backend: 'cpu' }); // about one in ten right
  writeSafetensorsFile(at('untrained.safetensors'), untrained.stateDict());
  const { stdout } = fcnet(['eval', at('untrained.safetensors'), '--data', folder, '--backend', 'cpu', '--json', '--plots', at('eval-plots')]);
  const result = JSON.parse(stdout);
  expect(result.plots).toEqual([join(at('eval-plots'), PLOT_FILES.confusion), join(at('eval-plots'), PLOT_FILES.misclassified)]);
  const wrong = Math.round(150 * (1 - result.accuracy));
  expect(wrong).toBeGreaterThan(64);
  const svg = readSvg(result.plots[1]);
  expect(elements(svg, 'image')).toHaveLength(64);
  expect(svg).toContain(`the first 64 of ${wrong} in test-set order`);
});

test('the pictures are written like the weights: atomically, never through a symlink, keeping a replaced file\'s permissions', () => {
  const dir = at('eval-replace');
  mkdirSync(dir);
  const victim = at('victim.txt');
  writeFileSync(victim, 'not a picture');
  symlinkSync(victim, join(dir, PLOT_FILES.confusion));
  writeFileSync(join(dir, PLOT_FILES.misclassified), 'an older picture');
  chmodSync(join(dir, PLOT_FILES.misclassified), 0o640);
  fcnet(['eval', at('model.safetensors'), '--data', folder, '--backend', 'cpu', '--plots', dir]);
  expect(readFileSync(victim, 'utf8')).toBe('not a picture');
  expect(lstatSync(join(dir, PLOT_FILES.confusion)).isFile()).toBe(true);
  readSvg(join(dir, PLOT_FILES.confusion));
  readSvg(join(dir, PLOT_FILES.misclassified));
  expect(statSync(join(dir, PLOT_FILES.misclassified)).mode & 0o7777).toBe(0o640);
});

test('without vega or vega-lite, --plots fails at once with how to install them', () => {
  const script = `require(${JSON.stringify(join(root, 'dist/lib/plots/render.js'))}).loadPlotLibraries(['vega', 'fcnet-no-such-package']).catch((e) => console.log(e.constructor.name + ': ' + e.message))`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim();
  expect(out).toBe(
    "PlotLibrariesMissing: --plots needs the optional packages vega and vega-lite, and 'fcnet-no-such-package' is not installed; " +
      'install them beside fcnet with `npm install vega vega-lite` (or `npm install -g vega vega-lite` for a global fcnet)',
  );
});

test("a table's run: loss.svg, accuracy.svg on the validation rows after each epoch, confusion-matrix.svg with the class names", () => {
  const table = join(root, 'examples', 'data', 'breast-cancer-train.csv');
  const dir = at('table-plots');
  const { stdout } = fcnet([
    'train', '--data', table, '--target', 'diagnosis', '--validation', '0.2', '--hidden', '8', '--epochs', '3', '--batch-size', '16',
    '--backend', 'cpu', '--json', '--output', at('table.safetensors'), '--plots', dir,
  ]);
  const events = stdout.trim().split('\n').map((line) => JSON.parse(line));
  const end = events[events.length - 1];
  expect(end).toMatchObject({ event: 'end', rows: 'validation', n: 57, plots: [PLOT_FILES.loss, PLOT_FILES.accuracy, PLOT_FILES.confusion].map((n) => join(dir, n)) });
  expect(existsSync(join(dir, PLOT_FILES.misclassified))).toBe(false); // pictures of digits only
  expect(readSvg(join(dir, PLOT_FILES.loss))).toContain('loss (cross_entropy');
  const accuracy = readSvg(join(dir, PLOT_FILES.accuracy));
  expect(accuracy).toContain('on 57 validation rows');
  const shown = elements(accuracy, 'text').map((t) => t.text).filter((t) => / %$/.test(t));
  expect(shown).toEqual(events.filter((e) => e.event === 'epoch').map((e) => `${(100 * e.validation.accuracy).toFixed(2)} %`));
  const matrix = readSvg(join(dir, PLOT_FILES.confusion));
  const cells = elements(matrix, 'text')
    .map((t) => /^predicted class: (\d); true class: (\d); count: (\d+)$/.exec(t.attributes['aria-label'] ?? ''))
    .filter((m) => m !== null)
    .map((m) => m!.slice(1).map(Number));
  expect(cells).toHaveLength(4);
  expect(cells.reduce((sum, [, , count]) => sum + count, 0)).toBe(57);
  expect(cells.filter(([p, t]) => p === t).reduce((sum, [, , count]) => sum + count, 0)).toBe(end.correct);
  const labels = elements(matrix, 'text').map((t) => t.text);
  expect(labels.filter((t) => t === 'benign' || t === 'malignant').sort()).toEqual(['benign', 'benign', 'malignant', 'malignant']); // both axes
});

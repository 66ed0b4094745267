// The web demo in a real browser (issue 18): headless Chromium (Debian's `chromium`, driven by puppeteer-core from
// support/drive-web-demo.mjs) loads the page from `startDemoServer`, a 7 is drawn with mouse events, and the page
// must say 7 with the probabilities that fcnet itself gives the same drawing (toMnistInput + MLP.logits + softmax,
// as `fcnet predict`). A screenshot is saved to build/test-output/web-demo.png for a person to look at.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Adam, fit, loadMnist, MLP } from '../lib';
import { startDemoServer, type DemoServer } from '../lib/cli/serve-demo';
import { softmax } from '../lib/cli/predict';
import { toMnistInput } from '../lib/image/mnist-input';
import { compiledWebPreparation } from './support/compiled';

const CHROMIUM = process.env.FCNET_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = join(__dirname, '..', 'build', 'test-output', 'web-demo.png');

const missing = existsSync(CHROMIUM) ? undefined : `no browser at ${CHROMIUM} (apt-get install chromium, or set FCNET_CHROMIUM)`;
let testWithBrowser: jest.It = test;
if (missing !== undefined && process.env.CI === 'true') {
  testWithBrowser = ((name: string) => test(name, () => { throw new Error(`Chromium is required under CI=true (.ci/run installs it): ${missing}`); })) as jest.It;
} else if (missing !== undefined) {
  console.warn(`Skipping the browser test of the web demo: ${missing}`);
  testWithBrowser = test.skip;
}

let server: DemoServer | undefined;
afterAll(async () => {
  await server?.close();
});

interface PageReport {
  before: string;
  shown: { digit: string; probability: string; probabilities: string[] };
  afterClear: string;
  drawing: { width: number; height: number; rgba: number[] };
  problems: string[];
}

testWithBrowser('draw a 7 on the page: it reads 7, with the probabilities fcnet gives the same drawing', async () => {
  compiledWebPreparation();
  const mnist = loadMnist();
  const model = new MLP({ sizes: [784, 128, 10], seed: 1 });
  await fit(model, new Adam(model), mnist.train, { epochs: 1, seed: 1 });
  server = await startDemoServer(model, 0);
  mkdirSync(join(SCREENSHOT, '..'), { recursive: true });

  // Asynchronous: the server answers the browser from this process's event loop.
  const report = await new Promise<PageReport>((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'support', 'drive-web-demo.mjs'), server!.url, CHROMIUM, SCREENSHOT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(stdout) as PageReport);
      else reject(new Error(`drive-web-demo.mjs exited with ${code}:\n${stdout}\n${stderr}`));
    });
  });
  console.log(`The page reads ${report.shown.digit} with probability ${report.shown.probability}; screenshot: ${SCREENSHOT}`);
  expect(report.problems).toEqual([]);
  expect(report.before).toBe('?');
  expect(report.shown.digit).toBe('7');
  expect(Number(report.shown.probability)).toBeGreaterThan(0.5);

  // fcnet on the very pixels the page scored, prepared as `fcnet predict` prepares a PNG; the page shows 4 decimals.
  const { pixels } = toMnistInput(report.drawing);
  const expected = softmax(model.logits(Float32Array.from(pixels, (v) => v / 255), 1));
  // Within half the last shown decimal (the page rounds ONNX Runtime's float32, fcnet's is double) and a float's error.
  const shown = report.shown.probabilities.map(Number);
  expect(shown).toHaveLength(10);
  shown.forEach((p, c) => expect(Math.abs(p - expected[c])).toBeLessThanOrEqual(5e-5 + 1e-6));
  expect(report.shown.probability).toBe(report.shown.probabilities[7]);
  expect(report.afterClear).toBe('?');
});

// Drives the web demo in headless Chromium with puppeteer-core, in a process of its own (puppeteer-core is an ES
// module, which jest's CommonJS sandbox cannot load). Usage: node drive-web-demo.mjs URL CHROMIUM SCREENSHOT
// Draws a 7 with mouse events as a person would (a bar across the top, then a stroke down to the lower left),
// waits for the page's answer, saves a screenshot, clicks Clear, and prints one JSON object: what the page
// showed, the canvas pixels it scored, and any page errors or failed requests.
import puppeteer from 'puppeteer-core';

const [url, executablePath, screenshot] = process.argv.slice(2);
// Chromium's sandbox needs user namespaces that a root shell in a container lacks; a container's small /dev/shm
// can crash its renderer, so shared memory goes to /tmp instead.
const args = ['--disable-dev-shm-usage', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])];
const browser = await puppeteer.launch({ executablePath, headless: true, args });
try {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`); });
  await page.setViewport({ width: 900, height: 520 });
  await page.goto(url);
  const text = (selector) => page.$eval(selector, (e) => e.textContent);
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('ready'), { timeout: 30_000 })
    .catch(async (e) => { throw new Error(`the page never got ready (status '${await text('#status')}'; ${problems.join('; ')}): ${e.message}`); });
  const before = await text('#digit');

  const box = await (await page.$('#pad')).boundingBox();
  const at = (fx, fy) => [box.x + fx * box.width, box.y + fy * box.height];
  await page.mouse.move(...at(0.28, 0.25));
  await page.mouse.down();
  await page.mouse.move(...at(0.72, 0.25), { steps: 10 });
  await page.mouse.move(...at(0.45, 0.8), { steps: 12 });
  await page.mouse.up();
  await page.waitForFunction(() => document.getElementById('status').textContent === 'ready' && document.getElementById('digit').textContent !== '?', { timeout: 10_000 })
    .catch(async (e) => { throw new Error(`no answer after drawing (status '${await text('#status')}'; ${problems.join('; ')}): ${e.message}`); });

  const shown = {
    digit: await text('#digit'),
    probability: await text('#probability'),
    probabilities: await page.$$eval('#probabilities td:last-child', (cells) => cells.map((c) => c.textContent)),
  };
  await page.screenshot({ path: screenshot });
  const drawing = await page.$eval('#pad', (c) => ({ width: c.width, height: c.height, rgba: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) }));
  await page.click('#clear');
  const afterClear = await text('#digit');
  console.log(JSON.stringify({ before, shown, afterClear, drawing, problems }));
} finally {
  await browser.close();
}

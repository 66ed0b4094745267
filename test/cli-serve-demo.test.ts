// `fcnet serve-demo` without a browser: what the server serves (and refuses), where it listens, its usage
// errors, and Ctrl-C. The page itself is tested in Chromium by web-demo.test.ts.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MLP, writeSafetensorsFile } from '../lib';
import { main } from '../lib/cli/main';
import { startDemoServer } from '../lib/cli/serve-demo';
import { decodeModelProto } from '../lib/onnx/proto';
import { compiledLib, compiledWebPreparation } from './support/compiled';
import { captureConsole } from './support/console-capture';

let scratch: string;
beforeAll(() => {
  compiledWebPreparation();
  scratch = mkdtempSync(join(tmpdir(), 'fcnet-serve-demo-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function get(url: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode!, type: response.headers['content-type'], body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end();
  });
}

test('it serves the page, the browser preparation, onnxruntime-web and the model, on 127.0.0.1 only, and nothing else', async () => {
  const model = new MLP({ sizes: [784, 16, 10], seed: 3, backend: 'js' });
  const server = await startDemoServer(model, 0);
  try {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(server.url);
    expect([page.status, page.type]).toEqual([200, 'text/html; charset=utf-8']);
    expect(page.body.toString()).toBe(readFileSync(join(__dirname, '..', 'examples', 'web', 'index.html'), 'utf8'));
    expect((await get(`${server.url}mnist-input.js`)).body.toString()).toBe(readFileSync(compiledWebPreparation(), 'utf8'));
    expect((await get(`${server.url}ort/ort-wasm-simd-threaded.wasm`)).type).toBe('application/wasm');
    expect(JSON.parse((await get(`${server.url}model.json`)).body.toString())).toEqual({ sizes: [784, 16, 10], classNames: null, loss: 'cross_entropy' });
    const onnx = decodeModelProto((await get(`${server.url}model.onnx`)).body) as { graph: { initializer: { name: string; raw_data: Uint8Array }[] } };
    const fc1 = onnx.graph.initializer.find((t) => t.name === 'fc1.weight')!;
    expect(Buffer.from(fc1.raw_data).equals(Buffer.from(model.view('fc1.weight').buffer, model.view('fc1.weight').byteOffset, 784 * 16 * 4))).toBe(true);

    expect((await get(`${server.url}ort/ort.node.min.js`)).status).toBe(404); // only the files the page loads
    expect((await get(`${server.url}../package.json`)).status).toBe(404);
    expect((await get(`${server.url}%2e%2e/package.json`)).status).toBe(404);
    expect((await get(server.url, 'POST')).status).toBe(405);
    const port = new URL(server.url).port;
    const otherAddress = Object.values(networkInterfaces()).flat().find((a) => a?.family === 'IPv4' && !a.internal);
    if (otherAddress) await expect(get(`http://${otherAddress.address}:${port}/`)).rejects.toThrow(/ECONNREFUSED/);
  } finally {
    await server.close();
  }
});

test('models the page cannot show are refused with what is wrong', async () => {
  await expect(startDemoServer(new MLP({ sizes: [12, 4, 10], backend: 'js' }), 0)).rejects.toThrow('the network has 12 inputs but the page draws 28×28 = 784 pixels');
  const regression = { sizes: [784, 4, 1], stateDict: () => new MLP({ sizes: [784, 4, 1], backend: 'js' }).stateDict(), spec: { loss: 'mse' } };
  await expect(startDemoServer(regression, 0)).rejects.toThrow('the network was trained with mse, a regression loss: it gives no probabilities to show');
});

test('usage mistakes exit 2; a taken port exits 1 saying so', async () => {
  const badPort = await captureConsole(() => main(['serve-demo', 'model.safetensors', '--port', '70000']));
  expect(badPort.result).toBe(2);
  expect(badPort.stderr).toEqual(["fcnet serve-demo: Expected integer between 0 and 65535 for --port but received '70000'\nRun `fcnet serve-demo --help` for the options."]);
  const noModel = await captureConsole(() => main(['serve-demo']));
  expect(noModel.result).toBe(2);
  expect(noModel.stderr).toEqual(["fcnet serve-demo: missing required argument 'MODEL'\nRun `fcnet serve-demo --help` for the options."]);

  const file = join(scratch, 'model.safetensors');
  writeSafetensorsFile(file, new MLP({ sizes: [784, 8, 10], backend: 'js' }).stateDict());
  const busy = await startDemoServer(new MLP({ sizes: [784, 8, 10], backend: 'js' }), 0);
  try {
    const taken = await captureConsole(() => main(['serve-demo', file, '--port', new URL(busy.url).port]));
    expect(taken.result).toBe(1);
    expect(taken.stderr).toEqual([`fcnet serve-demo: port ${new URL(busy.url).port} on 127.0.0.1 is in use: pick another with --port`]);
  } finally {
    await busy.close();
  }
});

test('fcnet serve-demo prints the address, serves until Ctrl-C, then closes and exits with 130', async () => {
  const file = join(scratch, 'model.safetensors');
  writeSafetensorsFile(file, new MLP({ sizes: [784, 8, 10], backend: 'js' }).stateDict());
  const child = spawn(process.execPath, [join(compiledLib(), 'cli', 'main.js'), 'serve-demo', file, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const found = /at (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(stdout);
      if (found) resolve(found[1]);
    });
    child.on('exit', (code) => reject(new Error(`serve-demo exited with ${code} before serving: ${stdout}`)));
  });
  expect(stdout).toBe(`Serving the demo for 784-8-10 from ${file} at ${url}\n`);
  expect((await get(url)).status).toBe(200);
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.kill('SIGINT');
  expect(await exit).toBe(130);
  expect(stderr).toBe('fcnet: open that address in a browser and draw a digit; Ctrl-C stops the server\nfcnet serve-demo: stopped by SIGINT; the server is closed\n');
});

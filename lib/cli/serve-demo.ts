// `fcnet serve-demo MODEL`: exports the network to ONNX (in memory) and serves examples/web on 127.0.0.1, a page
// where a person draws a digit and onnxruntime-web (served from node_modules) gives the ten probabilities live.
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { loadMLP } from '../checkpoint';
import { MNIST_SIDE } from '../image/mnist-input';
import { hasProbabilities, type OnnxLoss } from '../onnx/graph';
import { encodeOnnx, onnxNetworkOf, type ExportableModel } from '../onnx/export';
import { packageRoot } from '../package-root';
import type { Activation } from '../checkpoint/model-weights';
import { activationOption, integer, type OptionSpec } from './args';
import { execute, type CommandContext, type CommandInput, type CommandSpec } from './command';
import { Interrupted, listenForStop } from './signals';

const DEFAULT_PORT = 8080;

/** onnxruntime-web's files that the page loads: the WASM-only build and the WASM module it fetches. */
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
};

/** The folder of onnxruntime-web's browser builds, or an error that says how to install it. */
function onnxRuntimeWebDist(): string {
  let entry: string;
  try {
    entry = require.resolve('onnxruntime-web'); // dist/ort.node.min.js under Node's conditions
  } catch {
    throw new Error('fcnet: serve-demo needs the package onnxruntime-web for the page (npm install onnxruntime-web)');
  }
  const dist = path.dirname(entry);
  const missing = ORT_FILES.filter((f) => !fs.existsSync(path.join(dist, f)));
  if (missing.length) throw new Error(`fcnet: onnxruntime-web in ${dist} lacks ${missing.join(', ')}; install onnxruntime-web 1.30 or newer`);
  return dist;
}

/** Path → where the bytes come from: every file the page needs and nothing else. */
function demoRoutes(model: ExportableModel): Map<string, () => Buffer | Uint8Array> {
  const root = packageRoot();
  const web = path.join(root, 'examples', 'web');
  const browserPreparation = path.join(root, 'dist', 'web', 'mnist-input.js');
  if (!fs.existsSync(browserPreparation)) throw new Error(`fcnet: ${browserPreparation} is missing: build it with npm run build`);
  const ort = onnxRuntimeWebDist();
  const net = onnxNetworkOf(model);
  const onnx = encodeOnnx(model);
  const info = Buffer.from(JSON.stringify({ sizes: net.sizes, classNames: net.classNames, loss: net.loss }));
  const file = (p: string) => () => fs.readFileSync(p);
  const routes = new Map<string, () => Buffer | Uint8Array>([
    ['/', file(path.join(web, 'index.html'))],
    ['/index.html', file(path.join(web, 'index.html'))],
    ['/demo.js', file(path.join(web, 'demo.js'))],
    ['/mnist-input.js', file(browserPreparation)],
    ['/model.onnx', () => onnx],
    ['/model.json', () => info],
  ]);
  for (const f of ORT_FILES) routes.set(`/ort/${f}`, file(path.join(ort, f)));
  return routes;
}

export interface DemoServer {
  /** http://127.0.0.1:PORT/ */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the demo page for `model` (28×28 inputs; a loss with probabilities) on 127.0.0.1:`port` (0: any free
 * port). Resolves once it listens; rejects when the model does not fit the page or the port is taken.
 */
export async function startDemoServer(model: ExportableModel, port = DEFAULT_PORT): Promise<DemoServer> {
  const pixels = MNIST_SIDE * MNIST_SIDE;
  if (model.sizes[0] !== pixels) {
    throw new Error(`the network has ${model.sizes[0]} inputs but the page draws ${MNIST_SIDE}×${MNIST_SIDE} = ${pixels} pixels`);
  }
  const loss = (model.spec?.loss ?? 'cross_entropy') as OnnxLoss;
  if (!hasProbabilities(loss)) throw new Error(`the network was trained with ${loss}, a regression loss: it gives no probabilities to show`);
  const routes = demoRoutes(model);
  const server = http.createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const route = routes.get(pathname);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (!route) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const type = contentTypes[path.extname(pathname === '/' ? 'index.html' : pathname)] ?? 'application/octet-stream';
    const body = route();
    response.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code === 'EADDRINUSE' ? `port ${port} on 127.0.0.1 is in use: pick another with --port` : e.message)));
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

const options: OptionSpec[] = [
  activationOption,
  { flags: '--port <n>', description: 'the port on 127.0.0.1 (0 picks a free one)', parse: integer(0, 65535), default: DEFAULT_PORT, defaultText: String(DEFAULT_PORT) },
];

async function serveDemoRun({ args, options: o }: CommandInput, context: CommandContext): Promise<void> {
  const [modelFile] = args;
  const activation = o.activation as Activation | undefined;
  const model = loadMLP(modelFile, { backend: 'js', ...(activation !== undefined && { activation }) }); // the browser does the math
  const server = await startDemoServer(model, o.port as number);
  console.log(`Serving the demo for ${model.sizes.join('-')} from ${modelFile} at ${server.url}`);
  console.error('fcnet: open that address in a browser and draw a digit; Ctrl-C stops the server');
  // Serves until a signal (or the caller's interrupt); then the exit code is 128 + the signal's number.
  const stop = listenForStop(() => {}, context.interrupt);
  await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  stop.dispose();
  await server.close();
  throw new Interrupted(stop.by ?? 'SIGINT', `stopped by ${stop.by ?? 'SIGINT'}; the server is closed`);
}

export const serveDemoSpec: CommandSpec = {
  name: 'serve-demo',
  summary: 'serve a web page that recognises a digit you draw (ONNX)',
  arguments: ['MODEL'],
  description: [
    'Exports the network in MODEL (any file fcnet eval reads; 784 inputs, 28×28 pixels) to ONNX and serves a web page on http://127.0.0.1:PORT/ where you draw a digit and see the network\'s ten probabilities live.',
    'The page runs the ONNX model in your browser with onnxruntime-web (npm install onnxruntime-web) and prepares the drawing as fcnet predict prepares a picture. Ctrl-C stops the server.',
  ].join('\n\n'),
  options,
  run: serveDemoRun,
};

/** `fcnet serve-demo ARGV`, for tests: throws what `fcnet serve-demo` would report. */
export function serveDemoCommand(argv: string[], context: CommandContext = {}): Promise<void> {
  return execute([serveDemoSpec], ['serve-demo', ...argv], context);
}

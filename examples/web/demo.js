// The drawing pad: each stroke is prepared as `fcnet predict` prepares a PNG (the same code, lib/image/mnist-input.ts
// compiled for the browser) and scored by the exported ONNX model in onnxruntime-web, live while drawing.
import * as ort from './ort/ort.wasm.min.mjs';
import { MNIST_SIDE, toMnistInput } from './mnist-input.js';

const pad = document.getElementById('pad');
const context = pad.getContext('2d', { willReadFrequently: true });
const status = document.getElementById('status');
const digitOut = document.getElementById('digit');
const probabilityOut = document.getElementById('probability');
const rows = document.querySelector('#probabilities tbody');

// Black ink on white paper; toMnistInput inverts it to MNIST's white on black, as for a scanned page.
// A stroke about a tenth of the pad wide becomes MNIST's 2–3 pixel pen at 28×28.
function clearPad() {
  context.fillStyle = '#fff';
  context.fillRect(0, 0, pad.width, pad.height);
}
context.lineWidth = pad.width / 12;
context.lineCap = 'round';
context.lineJoin = 'round';
context.strokeStyle = '#000';
clearPad();

ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a plain local server does not give

let info, session;
try {
  [info, session] = await Promise.all([
    fetch('model.json').then((r) => r.json()),
    ort.InferenceSession.create('model.onnx', { executionProviders: ['wasm'] }),
  ]);
} catch (error) {
  status.textContent = `could not load the model: ${error.message}`;
  throw error;
}
const classes = info.sizes[info.sizes.length - 1];
const labels = info.classNames ?? Array.from({ length: classes }, (_, i) => String(i));
const bars = labels.map((label) => {
  const row = rows.insertRow();
  row.insertCell().textContent = label;
  const bar = document.createElement('div');
  bar.style.width = '0';
  const barCell = row.insertCell();
  barCell.className = 'bar';
  barCell.append(bar);
  const value = row.insertCell();
  return { row, bar, value };
});
status.textContent = 'ready: draw a digit';

let drawn = false;
let running = false;
let stale = false;

/** Scores the pad; while one inference runs, later strokes wait and the newest picture goes next. */
function predict() {
  score().catch((error) => {
    running = false;
    status.textContent = `could not score the drawing: ${error.message}`;
  });
}

async function score() {
  if (running) {
    stale = true;
    return;
  }
  running = true;
  status.textContent = 'scoring…';
  do {
    stale = false;
    const image = context.getImageData(0, 0, pad.width, pad.height);
    const { pixels, blank } = toMnistInput({ width: image.width, height: image.height, rgba: image.data });
    if (blank) {
      reset(); // no ink yet (a dot): fcnet predict refuses such a picture rather than name a digit
      continue;
    }
    const input = new ort.Tensor('float32', Float32Array.from(pixels, (v) => v / 255), [1, MNIST_SIDE * MNIST_SIDE]);
    const { probabilities } = await session.run({ input });
    if (drawn) show(probabilities.data); // not after Clear
  } while (stale);
  running = false;
  status.textContent = 'ready';
}

function show(probabilities) {
  let best = 0;
  for (let c = 1; c < classes; c++) if (probabilities[c] > probabilities[best]) best = c;
  digitOut.textContent = labels[best];
  probabilityOut.textContent = probabilities[best].toFixed(4);
  bars.forEach(({ row, bar, value }, c) => {
    bar.style.width = `${(100 * probabilities[c]).toFixed(1)}%`;
    value.textContent = probabilities[c].toFixed(4);
    row.classList.toggle('best', c === best);
  });
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * (pad.width / box.width), (event.clientY - box.top) * (pad.height / box.height)];
}

let drawing = false;
pad.addEventListener('pointerdown', (event) => {
  drawing = true;
  drawn = true;
  pad.setPointerCapture(event.pointerId);
  const [x, y] = point(event);
  context.beginPath();
  context.moveTo(x, y);
  context.lineTo(x, y);
  context.stroke();
  predict();
});
pad.addEventListener('pointermove', (event) => {
  if (!drawing) return;
  const [x, y] = point(event);
  context.lineTo(x, y);
  context.stroke();
  predict();
});
for (const end of ['pointerup', 'pointercancel']) {
  pad.addEventListener(end, () => {
    drawing = false;
    if (drawn) predict();
  });
}

/** No answer shown. */
function reset() {
  digitOut.textContent = '?';
  probabilityOut.textContent = '–';
  for (const { row, bar, value } of bars) {
    bar.style.width = '0';
    value.textContent = '';
    row.classList.remove('best');
  }
}

document.getElementById('clear').addEventListener('click', () => {
  clearPad();
  drawn = false;
  reset();
});

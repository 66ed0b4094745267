// ONNX export (issue 18): the exported file, run in onnxruntime-web (WASM, in a Node child process), gives fcnet's
// logits on MNIST's test images and the same accuracy; every activation and loss against PyTorch; ONNX's own
// checker (Debian's python3-onnx 1.12) accepts every file; files from each format fcnet loads; exact errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam, createDataset, encodeOnnx, exportOnnx, fit, loadMnist, MLP, saveTrainingCheckpoint, writeSafetensorsFile, type MLPOptions } from '../lib';
import { loadMLP } from '../lib/checkpoint';
import { main } from '../lib/cli/main';
import { softmax } from '../lib/cli/predict';
import type { ExportableModel } from '../lib/onnx/export';
import { decodeModelProto } from '../lib/onnx/proto';
import type { StateDict } from '../lib/tensor';
import type { TrainingPosition } from '../lib/train';
import { captureConsole } from './support/console-capture';

const PYTHON = '/usr/bin/python3';
const TOLERANCE = 1e-5; // max |ONNX Runtime − reference| on a logit (issue 18)

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'fcnet-onnx-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Why `python3 -c 'import NAME'` fails here, or undefined when it works. */
function pythonMissing(name: string): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', `import ${name}`], { encoding: 'utf8', timeout: 60_000 });
  if (probe.error) return `${PYTHON} could not run (${probe.error.message})`;
  if (probe.status !== 0) return `${PYTHON} -c 'import ${name}' failed: ${probe.stderr.trim().split('\n').pop()}`;
  return undefined;
}

/** `test` when the requirement holds; skipped (with the reason printed) when not, except under CI=true, where it fails. */
function testNeeding(what: string, missing: string | undefined): jest.It {
  if (missing === undefined) return test;
  if (process.env.CI === 'true') {
    return ((name: string) => test(name, () => { throw new Error(`${what} is required under CI=true (.ci/run installs it): ${missing}`); })) as jest.It;
  }
  console.warn(`Skipping tests that need ${what}: ${missing}`);
  return test.skip;
}
const withOnnxChecker = testNeeding("Debian's python3-onnx", pythonMissing('onnx'));
const withTorch = testNeeding('PyTorch', pythonMissing('torch'));

interface OrtJob { model: string; input: Float32Array; batch: number; width: number }

/** Runs each model on its input in onnxruntime-web; per job, its output names and each output's values. */
function runOnnxRuntime(jobs: OrtJob[]): { outputNames: string[]; outputs: Record<string, Float32Array> }[] {
  const specs = jobs.map((job, j) => {
    const input = join(scratch, `ort-input-${j}.bin`);
    writeFileSync(input, job.input);
    return { model: job.model, input, batch: job.batch, width: job.width, output: join(scratch, `ort-output-${j}`) };
  });
  const jobsFile = join(scratch, 'ort-jobs.json');
  writeFileSync(jobsFile, JSON.stringify(specs));
  const run = spawnSync(process.execPath, [join(__dirname, 'support', 'run-onnxruntime.mjs'), jobsFile], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`run-onnxruntime.mjs exited with ${run.status}:\n${run.stdout}\n${run.stderr}`);
  return specs.map((spec) => {
    const { outputNames } = JSON.parse(readFileSync(`${spec.output}.json`, 'utf8')) as { outputNames: string[] };
    const outputs: Record<string, Float32Array> = {};
    for (const name of outputNames) outputs[name] = floatsFrom(`${spec.output}.${name}.bin`);
    return { outputNames, outputs };
  });
}

function floatsFrom(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i] - b[i]));
  return largest;
}

function argmaxRows(values: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(values.length / classes);
  for (let n = 0; n < out.length; n++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[n * classes + c] > values[n * classes + best]) best = c;
    out[n] = best;
  }
  return out;
}

/** ONNX's checker on each file: its report (IR version, opsets, metadata, ops) per file. */
function onnxChecker(files: string[]): Record<string, { ir_version: number; opset: [string, number][]; metadata: Record<string, string>; ops: string[] }> {
  const run = spawnSync(PYTHON, [join(__dirname, 'onnx-reference.py'), 'check', ...files], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`onnx.checker refused a file:\n${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** Every .onnx file the tests write, for the checker at the end. */
const exported: string[] = [];

describe('MNIST in onnxruntime-web', () => {
  let model: MLP;
  let x: Float32Array; // (10000, 784) test images / 255
  let labels: Int32Array;
  let modelFile: string;
  let position: TrainingPosition;
  let optimizer: Adam;

  beforeAll(async () => {
    const mnist = loadMnist();
    const n = 12000;
    const train = createDataset(mnist.train.images.subarray(0, n * 784), mnist.train.labels.subarray(0, n), [28, 28]);
    model = new MLP({ sizes: [784, 64, 10], seed: 1 });
    optimizer = new Adam(model);
    ({ position } = await fit(model, optimizer, train, { epochs: 1, seed: 1 }));
    x = Float32Array.from(mnist.test.images, (p) => p / 255);
    labels = mnist.test.labels;
    modelFile = join(scratch, 'mnist.safetensors');
    writeSafetensorsFile(modelFile, model.stateDict());
  });

  test('fcnet export MODEL OUT.onnx: logits within 1e-5 of fcnet on the 10,000 test images, the same accuracy', async () => {
    const onnxFile = join(scratch, 'mnist.onnx');
    const { result: code, stderr } = await captureConsole(() => main(['export', modelFile, onnxFile]));
    expect(code).toBe(0);
    expect(stderr).toEqual([`fcnet: wrote 784-64-10 from ${modelFile} to ${onnxFile}: ONNX opset 17, input "input" [batch, 784], outputs "logits" and "probabilities"`]);
    exported.push(onnxFile);

    const [ort] = runOnnxRuntime([{ model: onnxFile, input: x, batch: labels.length, width: 784 }]);
    expect(ort.outputNames).toEqual(['logits', 'probabilities']);
    const fcnetLogits = model.logits(x, labels.length);
    const difference = maxAbsDifference(ort.outputs.logits, fcnetLogits);
    console.log(`MNIST test set: max |onnxruntime-web − fcnet| logit = ${difference.toExponential(2)}`);
    expect(difference).toBeLessThanOrEqual(TOLERANCE);

    const accuracy = (predicted: Int32Array) => predicted.filter((p, i) => p === labels[i]).length / labels.length;
    const ortAccuracy = accuracy(argmaxRows(ort.outputs.logits, 10));
    expect(ortAccuracy).toBe(accuracy(argmaxRows(fcnetLogits, 10)));
    expect(ortAccuracy).toBeGreaterThan(0.85); // a trained network, so agreeing on the accuracy means something
    expect(argmaxRows(ort.outputs.probabilities, 10)).toEqual(argmaxRows(ort.outputs.logits, 10));

    // probabilities: the softmax `fcnet predict` prints, per image.
    let largest = 0;
    for (let n = 0; n < labels.length; n++) {
      const expected = softmax(fcnetLogits.subarray(n * 10, (n + 1) * 10));
      largest = Math.max(largest, maxAbsDifference(ort.outputs.probabilities.subarray(n * 10, (n + 1) * 10), expected));
    }
    expect(largest).toBeLessThanOrEqual(1e-6);
  });

  test('a training checkpoint and the safetensors weights export the same graph', () => {
    const checkpoint = join(scratch, 'mnist.ckpt');
    saveTrainingCheckpoint(checkpoint, model, optimizer, position, { epochs: 1, batchSize: 100, seed: 1, lr: 0.001, hidden: [64] });
    const fromCheckpoint = encodeOnnx(loadMLP(checkpoint, { backend: 'js' }));
    expect(Buffer.from(fromCheckpoint).equals(Buffer.from(encodeOnnx(loadMLP(modelFile, { backend: 'js' }))))).toBe(true);
    writeFileSync(join(scratch, 'from-checkpoint.onnx'), fromCheckpoint);
    exported.push(join(scratch, 'from-checkpoint.onnx'));
  });
});

test("a PyTorch checkpoint (torch.save(state_dict)) exports with its weights bit for bit, as Gemm's initializers", () => {
  const fixture = join(__dirname, 'fixtures-gen', 'tiny_mlp.ckpt');
  const expected = JSON.parse(readFileSync(join(__dirname, 'fixtures-gen', 'tiny_mlp.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;
  const file = join(scratch, 'tiny-torch.onnx');
  exportOnnx(loadMLP(fixture, { backend: 'js' }), file);
  exported.push(file);
  const onnx = decodeModelProto(readFileSync(file)) as { graph: { initializer: { name: string; dims: number[]; raw_data: Uint8Array }[] } };
  const initializers = Object.fromEntries(onnx.graph.initializer.map((t) => [t.name, t]));
  expect(Object.keys(initializers).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, { shape, values }] of Object.entries(expected)) {
    const { dims, raw_data } = initializers[name];
    expect(dims).toEqual(shape);
    expect(Array.from(new Float32Array(Uint8Array.from(raw_data).buffer))).toEqual(Array.from(Float32Array.from(values)));
  }
});

test("PyTorch files of any layer names (0, linear_relu_stack.0, module.fc1, ...): onnxruntime-web within 1e-5 of PyTorch's logits", () => {
  const folder = join(__dirname, 'fixtures', 'layouts');
  const layouts = JSON.parse(readFileSync(join(folder, 'layouts.json'), 'utf8')) as Record<string, { sizes: number[]; inputs?: number[]; logits?: number[] }>;
  const files = Object.entries(layouts).filter(([, l]) => l.logits !== undefined);
  expect(files.length).toBeGreaterThanOrEqual(10);
  const jobs = files.map(([name, { sizes, inputs }]) => {
    const model = loadMLP(join(folder, name), { backend: 'js' });
    const file = join(scratch, `layout-${name}.onnx`);
    exportOnnx(model, file);
    const onnx = decodeModelProto(readFileSync(file)) as { graph: { initializer: { name: string }[] } };
    expect(onnx.graph.initializer.map((t) => t.name)).toEqual(Object.keys(model.stateDict())); // the file's own names
    return { model: file, input: Float32Array.from(inputs!), batch: inputs!.length / sizes[0], width: sizes[0] };
  });
  exported.push(jobs[0].model, jobs[jobs.length - 1].model);
  const results = runOnnxRuntime(jobs);
  files.forEach(([name, { logits }], k) => {
    const difference = maxAbsDifference(results[k].outputs.logits, logits!);
    if (difference > TOLERANCE) throw new Error(`${name}: max |onnxruntime-web − PyTorch| logit = ${difference}`);
  });
});

describe('the graph', () => {
  const sizes = [12, 9, 7, 5];
  const model = fakeModel(sizes, 7, {});

  test('opset 17, IR 8, a dynamic batch, and the names and shapes of its input and outputs', () => {
    const onnx = decodeModelProto(encodeOnnx(model)) as {
      ir_version: number; opset_import: { domain?: string; version: number }[]; producer_name: string;
      graph: { input: { name: string; type: unknown }[]; output: { name: string; type: unknown }[]; node: { op_type: string; attribute?: { name: string; i: number }[] }[] };
      metadata_props?: unknown[];
    };
    expect(onnx.ir_version).toBe(8);
    expect(onnx.opset_import).toEqual([{ domain: '', version: 17 }]);
    expect(onnx.producer_name).toBe('fcnet');
    const tensorType = (width: number) => ({ tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'batch' }, { dim_value: width }] } } });
    expect(onnx.graph.input.map((i) => [i.name, i.type])).toEqual([['input', tensorType(12)]]);
    expect(onnx.graph.output.map((o) => [o.name, o.type])).toEqual([['logits', tensorType(5)], ['probabilities', tensorType(5)]]);
    expect(onnx.graph.node.map((n) => n.op_type)).toEqual(['Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm', 'Softmax']);
    for (const gemm of onnx.graph.node.filter((n) => n.op_type === 'Gemm')) expect(gemm.attribute).toEqual([{ name: 'transB', type: 2, i: 1 }]);
    expect(onnx.metadata_props).toBeUndefined();
  });

  test('class names go to metadata_props as class_names, from the model or the options', () => {
    const names = ['cat', 'dog', 'ünïcode', 'a "quoted" one', ''];
    const metadataOf = (bytes: Uint8Array) => (decodeModelProto(bytes) as { metadata_props: unknown }).metadata_props;
    expect(metadataOf(encodeOnnx(model, { classNames: names }))).toEqual([{ key: 'class_names', value: JSON.stringify(names) }]);
    expect(metadataOf(encodeOnnx({ ...model, stateDict: model.stateDict, spec: { classNames: names } }))).toEqual([{ key: 'class_names', value: JSON.stringify(names) }]);
  });

  test('bad models, paths and options: exact errors, and no file written', () => {
    const out = join(scratch, 'never.onnx');
    expect(() => exportOnnx(model, '')).toThrow(new TypeError('Expected non-empty string for path but received \'\' of type string'));
    expect(() => exportOnnx(model, out, { classNames: ['a'] })).toThrow(new RangeError('exportOnnx: 1 class names for a network with 5 outputs'));
    expect(() => exportOnnx(model, out, { names: [] } as object)).toThrow("Unknown option 'names' for exportOnnx");
    expect(() => exportOnnx(fakeModel(sizes, 1, { activation: 'softplus' }), out)).toThrow(new RangeError("exportOnnx: unknown activation 'softplus': expected one of relu, leaky_relu, tanh, sigmoid, gelu"));
    expect(() => exportOnnx(fakeModel(sizes, 1, { loss: 'hinge' }), out)).toThrow(new RangeError("exportOnnx: unknown loss 'hinge': expected one of cross_entropy, bce_with_logits, mse, l1"));
    const mean = new Float32Array(12), std = new Float32Array(12).fill(1);
    std[3] = 0;
    expect(() => exportOnnx(fakeModel(sizes, 1, { inputMean: mean, inputStd: std }), out)).toThrow(new RangeError('exportOnnx: inputStd[3] is 0; expected a finite number above 0'));
    expect(() => exportOnnx(fakeModel(sizes, 1, { inputMean: mean }), out)).toThrow(new RangeError('exportOnnx: the input transform needs both inputMean and inputStd, or neither'));
    expect(() => exportOnnx(fakeModel(sizes, 1, { inputMean: mean.subarray(1), inputStd: std.subarray(1) }), out)).toThrow(new RangeError('exportOnnx: inputMean has 11 values but the network has 12 inputs'));
    const wrongShape = { ...model, stateDict: () => ({ ...model.stateDict(), 'fc2.bias': { shape: [6], data: new Float32Array(6) } }) };
    expect(() => exportOnnx(wrongShape, out)).toThrow(new RangeError("exportOnnx: parameter 'fc2.bias' has shape [6] (6 values) but sizes [12, 9, 7, 5] need [7]"));
    expect(() => exportOnnx(null as unknown as MLP, out)).toThrow(new TypeError('Expected MLP for model but received null'));
    expect(() => readFileSync(out)).toThrow(/ENOENT/);
  });
});

describe('fcnet export on the command line', () => {
  test('usage mistakes exit 2 before any work; an unreadable model or an unwritable output exits 1', async () => {
    const usage = await captureConsole(() => main(['export', 'only-one.safetensors']));
    expect(usage.result).toBe(2);
    expect(usage.stderr).toEqual(["fcnet export: missing required argument 'OUTPUT.onnx'\nRun `fcnet export --help` for the options."]);
    const missing = await captureConsole(() => main(['export', join(scratch, 'absent.safetensors'), join(scratch, 'x.onnx')]));
    expect(missing.result).toBe(1);
    expect(missing.stderr[0]).toMatch(/^fcnet export: Cannot read .*absent\.safetensors: ENOENT/);
    const noFolder = await captureConsole(() => main(['export', join(scratch, 'absent.safetensors'), join(scratch, 'no', 'x.onnx')]));
    expect(noFolder.result).toBe(1);
    expect(noFolder.stderr).toEqual([`fcnet export: OUTPUT.onnx ${join(scratch, 'no', 'x.onnx')}: the folder ${join(scratch, 'no')} does not exist`]);
  });
});

// ------------------------------------------------------------------------- every activation and loss, against PyTorch

/** mulberry32: a small seeded generator, so a failure can be reproduced. */
function uniformFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A network with random weights (nn.Linear's ±1/√fan_in, scaled up so activations reach their curved parts). */
function fakeModel(sizes: number[], seed: number, spec: NonNullable<ExportableModel['spec']>): ExportableModel {
  const random = uniformFrom(seed);
  const parameters: StateDict = {};
  for (let l = 1; l < sizes.length; l++) {
    const bound = 3 / Math.sqrt(sizes[l - 1]);
    const draw = () => (2 * random() - 1) * bound;
    parameters[`fc${l}.weight`] = { shape: [sizes[l], sizes[l - 1]], data: Float32Array.from({ length: sizes[l] * sizes[l - 1] }, draw) };
    parameters[`fc${l}.bias`] = { shape: [sizes[l]], data: Float32Array.from({ length: sizes[l] }, draw) };
  }
  return { sizes, stateDict: () => parameters, spec };
}

const gelu = 'Div Erf Add Mul Mul';
const cases: { activation: string; negativeSlope?: number; loss: string; transform: boolean; outputs: string[]; ops: string }[] = [
  { activation: 'relu', loss: 'cross_entropy', transform: false, outputs: ['logits', 'probabilities'], ops: 'Gemm Relu Gemm Relu Gemm Softmax' },
  { activation: 'leaky_relu', negativeSlope: 0.2, loss: 'bce_with_logits', transform: true, outputs: ['logits', 'probabilities'], ops: 'Sub Div Gemm LeakyRelu Gemm LeakyRelu Gemm Sigmoid' },
  { activation: 'tanh', loss: 'mse', transform: false, outputs: ['logits'], ops: 'Gemm Tanh Gemm Tanh Gemm' },
  { activation: 'sigmoid', loss: 'l1', transform: true, outputs: ['logits'], ops: 'Sub Div Gemm Sigmoid Gemm Sigmoid Gemm' },
  { activation: 'gelu', loss: 'cross_entropy', transform: true, outputs: ['logits', 'probabilities'], ops: `Sub Div Gemm ${gelu} Gemm ${gelu} Gemm Softmax` },
];

withTorch('every activation and loss, with and without the input transform: onnxruntime-web within 1e-5 of PyTorch', () => {
  const sizes = [12, 9, 7, 5];
  const batch = 33;
  const random = uniformFrom(99);
  const input = Float32Array.from({ length: batch * sizes[0] }, random);
  const mean = Float32Array.from({ length: sizes[0] }, () => 0.5 * random());
  const std = Float32Array.from({ length: sizes[0] }, () => 0.2 + random());
  const raw = (name: string, values: Float32Array) => {
    const file = join(scratch, name);
    writeFileSync(file, values);
    return file;
  };
  const torchJobs = cases.map((c, k) => {
    const model = fakeModel(sizes, 10 + k, { activation: c.activation, negativeSlope: c.negativeSlope, loss: c.loss, inputMean: c.transform ? mean : null, inputStd: c.transform ? std : null });
    const file = join(scratch, `${c.activation}-${c.loss}.onnx`);
    expect(exportOnnx(model, file)).toEqual({ outputs: c.outputs });
    exported.push(file);
    const ops = (decodeModelProto(readFileSync(file)) as { graph: { node: { op_type: string }[] } }).graph.node.map((n) => n.op_type);
    expect(ops.join(' ')).toBe(c.ops);
    const parameters = Object.fromEntries(Object.entries(model.stateDict()).map(([name, t]) => [name, raw(`${k}-${name}.bin`, t.data)]));
    return {
      file, sizes, batch, activation: c.activation, negativeSlope: c.negativeSlope ?? 0.01, loss: c.loss, parameters,
      input: raw(`${k}-input.bin`, input), inputMean: c.transform ? raw(`${k}-mean.bin`, mean) : null, inputStd: c.transform ? raw(`${k}-std.bin`, std) : null,
      output: join(scratch, `torch-${k}`),
    };
  });
  writeFileSync(join(scratch, 'torch-jobs.json'), JSON.stringify(torchJobs));
  const torch = spawnSync(PYTHON, [join(__dirname, 'onnx-reference.py'), 'torch', join(scratch, 'torch-jobs.json')], { encoding: 'utf8', timeout: 120_000 });
  if (torch.status !== 0) throw new Error(`onnx-reference.py torch failed:\n${torch.stderr}`);

  const results = runOnnxRuntime(torchJobs.map((j) => ({ model: j.file, input, batch, width: sizes[0] })));
  cases.forEach((c, k) => {
    expect(results[k].outputNames).toEqual(c.outputs);
    for (const name of c.outputs) {
      const expected = floatsFrom(`${torchJobs[k].output}.${name}.bin`);
      const difference = maxAbsDifference(results[k].outputs[name], expected);
      console.log(`${c.activation}, ${c.loss}${c.transform ? ', input transform' : ''}: max |onnxruntime-web − PyTorch| ${name} = ${difference.toExponential(2)}`);
      expect(difference).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});

// fcnet's own forward for each activation and loss: MLP takes them with issue 13's NetworkSpec (model.spec). Until
// that lands this MLP has no spec, and the test says so and skips; the cast keeps it compiling on both sides.
const mlpHasSpec = 'spec' in new MLP({ sizes: [2, 1], backend: 'js' });
if (!mlpHasSpec) console.warn("Skipping the comparison with fcnet's own forward for every activation and loss: this MLP has no NetworkSpec (issue 13) yet");
(mlpHasSpec ? test : test.skip)("every activation and loss with the input transform, on cpu and js: onnxruntime-web within 1e-5 of fcnet's logits", () => {
  const sizes = [12, 9, 7, 5];
  const batch = 33;
  const random = uniformFrom(5);
  const input = Float32Array.from({ length: batch * sizes[0] }, random);
  const inputMean = Float32Array.from({ length: sizes[0] }, () => 0.5 * random());
  const inputStd = Float32Array.from({ length: sizes[0] }, () => 0.2 + random());
  const runs = (['cpu', 'js'] as const).flatMap((backend) => cases.map((c, k) => {
    const options = { sizes, seed: k, backend, activation: c.activation, negativeSlope: c.negativeSlope ?? 0.01, loss: c.loss, inputMean, inputStd };
    const model = new MLP(options as unknown as MLPOptions);
    const file = join(scratch, `fcnet-${backend}-${c.activation}-${c.loss}.onnx`);
    exportOnnx(model, file);
    return { name: `${backend}, ${c.activation}, ${c.loss}`, file, outputs: c.outputs, loss: c.loss, logits: model.logits(input, batch) };
  }));
  exported.push(runs[runs.length - 1].file);
  const results = runOnnxRuntime(runs.map((r) => ({ model: r.file, input, batch, width: sizes[0] })));
  runs.forEach((r, k) => {
    expect(results[k].outputNames).toEqual(r.outputs);
    const difference = maxAbsDifference(results[k].outputs.logits, r.logits);
    console.log(`${r.name}: max |onnxruntime-web − fcnet| logits = ${difference.toExponential(2)}`);
    expect(difference).toBeLessThanOrEqual(TOLERANCE);
  });
});

withOnnxChecker("ONNX 1.12's checker (full_check, with shape inference) accepts every exported file", () => {
  expect(exported.length).toBeGreaterThanOrEqual(3);
  const report = onnxChecker(exported);
  for (const file of exported) {
    expect(report[file].ir_version).toBe(8);
    expect(report[file].opset).toEqual([['', 17]]);
  }
});

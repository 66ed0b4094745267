// The 'cuda' backend: an Engine whose parameters, gradients, Adam moments and datasets live on an NVIDIA GPU.
// It drives the separate CUDA addon (build-cuda/Release/fcnet_cuda.node, built by `npm run build:cuda`);
// nothing else in the package needs CUDA. TypeScript keeps Adam's hyper-parameters and step count and the
// training loop; one trainBatch call is one step on the device, and only losses and final weights come back.
//
// Environment knobs, for benchmarks and tests only:
//   FCNET_CUDA_ADDON   path of the addon to load instead of build-cuda/Release/fcnet_cuda.node
//   FCNET_CUDA_GRAPH=0 plain kernel launches instead of one CUDA graph a step
//   FCNET_CUDA_TILE    0, 1 or 2: force the small, medium or large product tiles; 3: the naive reference kernel

import * as fs from 'node:fs';
import * as path from 'node:path';

import { checkBoolean, checkInteger, checkNumber, invalidArgument } from '../check';
import { defaultNetworkSpec, nonReferenceFeatures, type NetworkSpec } from '../network';
import { adamOnly } from './step-hyper';
import type { AdamHyper, BackendName, DatasetHandle, DropoutSource, Engine, Features, OptimizerKind, ParameterBuffers, StepHyper, Targets } from './types';

/** What probeCuda() found: whether the cuda backend can run here, and the reason in words either way. */
export interface CudaProbe {
  available: boolean;
  /** Why not (with what to do), or what was found. */
  reason: string;
  /** e.g. 'NVIDIA H200 (compute capability 9.0, 143771 MiB, 132 SMs), driver CUDA 13.0, addon CUDA 13.0'. */
  device?: string;
}

interface NativeProbe {
  available: boolean;
  status: string;
  message: string;
  device: string;
  computeCapability: string;
  memoryBytes: number;
  multiprocessors: number;
  driverVersion: number;
  runtimeVersion: number;
  emulated: boolean;
}

interface NativeCudaEngine {
  parameterCount(): number;
  device(): string;
  upload(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array): void;
  download(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array): void;
  forward(x: Float32Array, B: number, logits: Float32Array): void;
  computeGradients(x: Float32Array, labels: Int32Array, B: number, grads: Float32Array): number;
  adamStep(lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
  attachDataset(images: Uint8Array, labels: Int32Array, n: number, d: number): number;
  detachDataset(id: number): void;
  trainBatch(id: number, indices: Int32Array, offset: number, B: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, step: number, wantLoss: boolean): number;
  evaluateDataset(id: number): { lossSum: number; correct: number };
  dispose(): void;
}

/** The CUDA addon's exports. */
export interface CudaAddon {
  probe(): NativeProbe;
  CudaEngine: new (sizes: Int32Array, maxBatch: number, useGraph: boolean, forcedTile: number) => NativeCudaEngine;
}

export const CUDA_BUILD_COMMAND = 'npm run build:cuda';
const ADDON_RELATIVE_PATH = path.join('build-cuda', 'Release', 'fcnet_cuda.node');

/** The folder of fcnet's package.json, found from here upwards: this file runs from lib/ and from dist/lib/. */
export function packageRoot(start: string = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (manifest.name === 'fcnet') return dir;
    } catch {
      // no package.json here, or not JSON: keep walking up
    }
    if (path.dirname(dir) === dir) throw new Error(`Cannot find fcnet's package.json above ${start}`);
  }
}

/** Where the CUDA addon is loaded from. */
export function cudaAddonPath(): string {
  const override = process.env.FCNET_CUDA_ADDON;
  return override !== undefined && override !== '' ? path.resolve(override) : path.join(packageRoot(), ADDON_RELATIVE_PATH);
}

let loaded: { addon: CudaAddon | null; probe: CudaProbe } | undefined;

function probeOnce(): { addon: CudaAddon | null; probe: CudaProbe } {
  if (loaded !== undefined) return loaded;
  const file = cudaAddonPath();
  if (!fs.existsSync(file)) {
    loaded = {
      addon: null,
      probe: {
        available: false,
        reason: `the CUDA addon is not built (no ${file}): run \`${CUDA_BUILD_COMMAND}\` on a machine with the CUDA ` +
          `toolkit (nvcc) and CMake, or use backend 'cpu'`,
      },
    };
    return loaded;
  }
  let addon: CudaAddon;
  try {
    addon = require(file) as CudaAddon;
  } catch (error) {
    loaded = {
      addon: null,
      probe: {
        available: false,
        reason: `the CUDA addon ${file} did not load (${(error as Error).message}): rebuild it with ` +
          `\`${CUDA_BUILD_COMMAND}\`, or use backend 'cpu'`,
      },
    };
    return loaded;
  }
  const native = addon.probe();
  loaded = native.available
    ? { addon, probe: { available: true, reason: `CUDA device 0: ${native.message}`, device: native.device } }
    : { addon: null, probe: { available: false, reason: native.message } };
  return loaded;
}

/**
 * Whether the cuda backend can run: the addon is built and loads, a device answers, and the addon holds code
 * for it. The first call starts CUDA (a fraction of a second); the answer is kept for the process.
 */
export function probeCuda(): CudaProbe {
  return { ...probeOnce().probe };
}

/** The CUDA addon, or one Error that says why it cannot be used and what to do. */
export function loadCudaAddon(): CudaAddon {
  const { addon, probe } = probeOnce();
  if (addon === null) throw new Error(`The cuda backend is not available: ${probe.reason}`);
  return addon;
}

function checkFloat32(name: string, value: unknown, length: number): Float32Array {
  if (!(value instanceof Float32Array)) throw invalidArgument('Float32Array', name, value);
  if (value.length < length) throw invalidArgument(`Float32Array of length at least ${length}`, name, value);
  return value;
}

function checkInt32(name: string, value: unknown, length: number): Int32Array {
  if (!(value instanceof Int32Array)) throw invalidArgument('Int32Array', name, value);
  if (value.length < length) throw invalidArgument(`Int32Array of length at least ${length}`, name, value);
  return value;
}

function checkHyper(hyper: AdamHyper): void {
  if (typeof hyper !== 'object' || hyper === null) throw invalidArgument('object', 'hyper', hyper);
  checkNumber('hyper.lr', hyper.lr, 0, 1e6);
  checkNumber('hyper.beta1', hyper.beta1, 0, 0.9999999999);
  checkNumber('hyper.beta2', hyper.beta2, 0, 0.9999999999);
  checkNumber('hyper.eps', hyper.eps, 0, 1e6);
  checkNumber('hyper.weightDecay', hyper.weightDecay, 0, 1e6);
}

/** A dataset uploaded to one CudaEngine's device. */
class CudaDataset implements DatasetHandle {
  constructor(readonly engine: CudaEngine, readonly id: number, readonly n: number, readonly d: number) {}
}

function parameterCount(sizes: readonly number[]): number {
  let count = 0;
  for (let l = 0; l + 1 < sizes.length; l++) count += sizes[l + 1] * sizes[l] + sizes[l + 1];
  return count;
}

/**
 * Throws unless the CUDA engine runs this network: today it has ReLU hidden layers, no dropout, unweighted
 * cross-entropy and no input transform. Anything else is refused here rather than computed wrongly.
 */
export function checkCudaSupports(spec: NetworkSpec): void {
  const unsupported = nonReferenceFeatures(spec);
  if (unsupported.length > 0) {
    throw new Error(`The cuda backend does not support ${unsupported.join(', ')} yet (it runs ReLU hidden layers, ` +
      `no dropout, unweighted cross_entropy, no input transform); use backend 'cpu' or 'js' for this network`);
  }
}

/** The Engine on an NVIDIA GPU. `buffers` are the model's host buffers; the engine keeps device copies of them. */
export class CudaEngine implements Engine {
  readonly backend: BackendName = 'cuda';
  readonly fusedOptimizers: readonly OptimizerKind[] = ['adam'];
  readonly spec: NetworkSpec;
  readonly sizes: readonly number[];
  readonly maxBatch: number;
  /** e.g. 'NVIDIA H200 (sm_90, 132 SMs)'. */
  readonly device: string;
  private readonly buffers: ParameterBuffers;
  private readonly native: NativeCudaEngine;
  private disposed = false;

  /** `network`: a NetworkSpec, or layer widths alone for the reference semantics (ReLU, cross-entropy). */
  constructor(network: NetworkSpec | readonly number[], buffers: ParameterBuffers, maxBatch: number) {
    const given = Array.isArray(network) ? network : (network as NetworkSpec | null)?.sizes;
    if (!Array.isArray(given) || given.length < 2) throw invalidArgument('Array of at least 2 layer widths', 'sizes', given);
    const spec = Array.isArray(network) ? defaultNetworkSpec(network) : (network as NetworkSpec);
    checkCudaSupports(spec);
    const sizes = [...spec.sizes];
    if (!Array.isArray(sizes) || sizes.length < 2) throw invalidArgument('Array of at least 2 layer widths', 'sizes', sizes);
    sizes.forEach((width, i) => checkInteger(`sizes[${i}]`, width, 1, 1 << 24));
    checkInteger('maxBatch', maxBatch, 1, 1 << 24);
    const count = parameterCount(sizes);
    for (const name of ['params', 'grads', 'm', 'v'] as const) {
      const buffer = (buffers as unknown as Record<string, unknown> | null)?.[name];
      if (!(buffer instanceof Float32Array) || buffer.length !== count) {
        throw invalidArgument(`Float32Array of length ${count}`, `buffers.${name}`, buffer);
      }
    }
    const addon = loadCudaAddon();
    const useGraph = process.env.FCNET_CUDA_GRAPH !== '0';
    const tile = process.env.FCNET_CUDA_TILE;
    const forcedTile = tile === undefined || tile === '' ? -1 : checkInteger('FCNET_CUDA_TILE', Number(tile), 0, 3);
    this.native = new addon.CudaEngine(Int32Array.from(sizes), maxBatch, useGraph, forcedTile);
    this.spec = spec;
    this.sizes = Object.freeze([...sizes]);
    this.maxBatch = maxBatch;
    this.buffers = buffers;
    this.device = this.native.device();
    this.upload();
  }

  private get inputs(): number {
    return this.sizes[0];
  }

  private get classes(): number {
    return this.sizes[this.sizes.length - 1];
  }

  private live(): NativeCudaEngine {
    if (this.disposed) throw new Error('This CudaEngine has been disposed');
    return this.native;
  }

  forward(x: Float32Array, B: number, logits: Float32Array): void {
    checkInteger('B', B, 1, this.maxBatch);
    checkFloat32('x', x, B * this.inputs);
    checkFloat32('logits', logits, B * this.classes);
    this.live().forward(x, B, logits);
  }

  computeGradients(x: Float32Array, targets: Targets, B: number, _dropout: DropoutSource | null = null): number {
    checkInteger('B', B, 1, this.maxBatch);
    checkFloat32('x', x, B * this.inputs);
    checkInt32('labels', targets, B); // the spec has no dropout (checkCudaSupports)
    return this.live().computeGradients(x, targets as Int32Array, B, this.buffers.grads);
  }

  adamStep(hyper: AdamHyper, step: number): void {
    checkHyper(hyper);
    checkInteger('step', step, 1, 2147483647);
    this.live().adamStep(hyper.lr, hyper.beta1, hyper.beta2, hyper.eps, hyper.weightDecay, step);
  }

  attachDataset(features: Features, targets: Targets, n: number, d: number): DatasetHandle {
    checkInteger('n', n, 1, 2147483647);
    checkInteger('d', d, this.inputs, this.inputs);
    if (!(features instanceof Uint8Array)) {
      throw new Error(`The cuda backend does not support float features yet (it trains on uint8 pixels); use backend 'cpu' or 'js' for a ${features?.constructor?.name} dataset`);
    }
    const images = features, labels = targets as Int32Array;
    if (images.length < n * d) throw invalidArgument(`Uint8Array of length at least ${n * d}`, 'images', images);
    checkInt32('labels', labels, n);
    const id = this.live().attachDataset(images, labels, n, d);
    return new CudaDataset(this, id, n, d);
  }

  /** Frees a dataset's device memory before the engine is disposed. */
  detachDataset(data: DatasetHandle): void {
    this.live().detachDataset(this.datasetId(data));
  }

  trainBatch(data: DatasetHandle, indices: Int32Array, offset: number, B: number,
    stepHyper: StepHyper, step: number, wantLoss: boolean, _dropoutSeed = 0): number {
    const hyper = adamOnly(stepHyper, this.fusedOptimizers);
    const id = this.datasetId(data);
    checkInteger('B', B, 1, this.maxBatch);
    checkInt32('indices', indices, B);
    checkInteger('offset', offset, 0, indices.length - B);
    checkHyper(hyper);
    checkInteger('step', step, 1, 2147483647);
    checkBoolean('wantLoss', wantLoss);
    return this.live().trainBatch(id, indices, offset, B, hyper.lr, hyper.beta1, hyper.beta2, hyper.eps,
      hyper.weightDecay, step, wantLoss);
  }

  evaluateDataset(data: DatasetHandle): { lossSum: number; correct: number } {
    return this.live().evaluateDataset(this.datasetId(data));
  }

  download(): void {
    const b = this.buffers;
    this.live().download(b.params, b.grads, b.m, b.v);
  }

  upload(): void {
    const b = this.buffers;
    this.live().upload(b.params, b.grads, b.m, b.v);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.native.dispose();
  }

  private datasetId(data: DatasetHandle): number {
    if (!(data instanceof CudaDataset) || data.engine !== this) {
      throw invalidArgument('a dataset attached to this CudaEngine', 'data', data);
    }
    return data.id;
  }
}

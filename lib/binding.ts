// The one loader of the native CPU addon. If no binary loads, one error says what was tried and what to do.
import * as fs from 'fs';
import * as path from 'path';
import type { AdamHyper, StepHyper } from './backends/types';
import { packageRoot } from './package-root';

/** The functions the addon exports (native/binding.cc); argument order as in lib/backends/types.ts. */
export interface NativeAddon {
  linearForward(out: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array, B: number, I: number, O: number, relu: boolean): void;
  linearBackward(dx: Float32Array | null, dw: Float32Array, db: Float32Array, dout: Float32Array, x: Float32Array, w: Float32Array, B: number, I: number, O: number): void;
  reluBackward(d: Float32Array, y: Float32Array, n: number): void;
  softmaxCrossEntropy(dlogits: Float32Array | null, logits: Float32Array, labels: Int32Array, B: number, C: number): number;
  adamUpdate(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, n: number, hyper: AdamHyper, step: number): void;
  argmax(out: Int32Array, x: Float32Array, B: number, C: number): void;
  gatherBatch(x: Float32Array, images: Uint8Array, indices: Int32Array, offset: number, B: number, D: number): void;
  /** C(M,N) = op(A)·op(B) with tight leading dimensions; `useFallback` picks the built-in GEMM over the BLAS. */
  sgemm(transA: boolean, transB: boolean, M: number, N: number, K: number, A: Float32Array, B: Float32Array, C: Float32Array, useFallback: boolean): void;
  /** `reference`: every product naive and no sparse path (the tests' reference walk). */
  Network: new (spec: NativeNetworkSpec, maxBatch: number, threads: number, reference?: boolean) => NativeNetwork;
  gemmInfo(): { blas: 'openblas' | 'fallback'; config: string; threads: number };
  setThreads(threads: number): void;
}

/** A NetworkSpec as the native Network takes it (lib/network.ts), sizes as an Int32Array. */
export interface NativeNetworkSpec {
  sizes: Int32Array;
  activation: string;
  negativeSlope: number;
  dropout: number;
  loss: string;
  classWeights: Float32Array | null;
  inputMean: Float32Array | null;
  inputStd: Float32Array | null;
}

/**
 * The native engine for any stack of layers (native/network.h). Parameters, gradients and Adam's moments are the
 * caller's flat buffers; features are Uint8Array pixels or Float32Array values, (N, I); targets Int32Array (N) class
 * indices for cross_entropy, else Float32Array (N, K). Scratch and threads are made on first use (`started`).
 */
export interface NativeNetwork {
  readonly threads: number;
  readonly started: boolean;
  /** Floats per vector in the sparse first layer's tiles: 16 with AVX-512, 8 with AVX2 (or FCNET_SIMD=avx2). */
  readonly vectorFloats: number;
  /**
   * One step on rows indices[offset .. offset + B): gather, forward, loss, backward, the optimizer; the mean loss.
   * imageWidth: pixels per image row when each row is an image, else 0 (the sparse gradient's grouping: speed only).
   */
  trainBatch(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, features: Uint8Array | Float32Array,
    targets: Int32Array | Float32Array, indices: Int32Array, offset: number, B: number, hyper: StepHyper, step: number,
    dropoutSeed: number, imageWidth: number): number;
  /** Forward (training mode) and backward on x (B, I): every gradient into grads; the mean loss. */
  computeGradients(params: Float32Array, grads: Float32Array, x: Float32Array, targets: Int32Array | Float32Array, B: number,
    dropout: { seed: number; step: number } | { masks: Uint8Array } | null): number;
  adamStep(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, hyper: AdamHyper, step: number): void;
  /** logits (n, K) of x (n, I), evaluation mode, in batches of at most maxBatch. */
  forward(params: Float32Array, x: Float32Array, n: number, logits: Float32Array): void;
  /** Rows [0, n) in order: Σ of (batch mean loss · batch rows), and the rows whose argmax is their label. */
  evaluate(params: Float32Array, features: Uint8Array | Float32Array, targets: Int32Array | Float32Array, n: number): { lossSum: number; correct: number };
  /**
   * Writes what the engine holds inside into the buffers: the last sparse step's fc1.weight gradient, and while it
   * trains on the sparse path fc1.weight and its optimizer state (kept transposed inside between steps).
   */
  download(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array): void;
  /** The buffers were changed from outside: whatever the engine holds or copied of fc1 is dropped and remade. */
  invalidateShadow(): void;
  /** [gather, forward, backward, first layer's sparse gradient, optimizer] seconds, then steps and sparse steps, since the last call. */
  takePhaseSeconds(): Float64Array;
  dispose(): void;
}

export interface NativeLoad {
  addon: NativeAddon | null;
  /** The binary that loaded, or null. */
  path: string | null;
  /** Where that binary came from: shipped in the package, or compiled on this machine by node-gyp. */
  source: 'prebuild' | 'local build' | null;
  error: Error | null;
}

let loaded: NativeLoad | undefined;

/**
 * The folder the addon is looked for in: fcnet's own, or FCNET_PREBUILD when set. node-gyp-build honours
 * that variable by itself (<NAME>_PREBUILD), so the loader's report must too; tests point it at an empty folder.
 */
export function nativeRoot(): string {
  return process.env.FCNET_PREBUILD || packageRoot();
}

/** Each place node-gyp-build looked under root, in its order, and what was there. */
function placesLookedAt(root: string, failed: string | null): string[] {
  const note = (file: string): string => (file === failed ? ' (found, but it did not load)' : '');
  const lines = ['Release', 'Debug'].map((dir) => {
    const file = path.join(root, 'build', dir, 'fcnet.node');
    return `  - ${file}${fs.existsSync(file) ? note(file) : ' (missing)'}`;
  });
  const prebuilds = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const binaries = fs.existsSync(prebuilds) ? fs.readdirSync(prebuilds).filter((f) => f.endsWith('.node')) : [];
  if (binaries.length === 0) lines.push(`  - ${prebuilds}${path.sep} (no prebuilt binary for ${process.platform}-${process.arch})`);
  for (const f of binaries) lines.push(`  - ${path.join(prebuilds, f)}${note(path.join(prebuilds, f))}`);
  return lines;
}

/** What to do, given why loading failed. */
function fixFor(cause: string, found: boolean): string {
  const build = 'install a C++ compiler and Python (and OpenBLAS for speed: apt-get install build-essential libopenblas-dev), then run `npm rebuild fcnet`';
  if (/libopenblas/.test(cause)) {
    return `the binary was built against a shared OpenBLAS that this machine lacks: apt-get install libopenblas0, or ${build}`;
  }
  return found ? `rebuild it for this machine: ${build}` : build;
}

/**
 * OpenBLAS picks its kernels for the CPU when it loads; 0.3.21 (Debian 12's) does not know CPUs newer than it and
 * falls back to its Prescott (SSE3) kernels: on this project's Xeon (model 207, AVX-512) sgemm ran at 23 GFLOP/s
 * on one core instead of 95-100 with its SkylakeX kernels (1024³, wall clock, a busy machine). Unless the user
 * chose (OPENBLAS_CORETYPE set, even to ''), name the family the CPU's flags show, before the addon (and so
 * OpenBLAS) loads. Child processes inherit it, PyTorch's in `fcnet bench --compare-pytorch` too.
 */
export function chooseOpenBlasCore(env: NodeJS.ProcessEnv = process.env, cpuinfo = '/proc/cpuinfo'): string | null {
  if (env.OPENBLAS_CORETYPE !== undefined || process.platform !== 'linux' || process.arch !== 'x64') return null;
  let flags: string[] = [];
  try {
    flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync(cpuinfo, 'utf8'))?.[1].trim().split(/\s+/) ?? [];
  } catch {
    return null;
  }
  const has = (names: string[]) => names.every((f) => flags.includes(f));
  const core = has(['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl']) ? 'SkylakeX' : has(['avx2', 'fma']) ? 'Haswell' : null;
  if (core) env.OPENBLAS_CORETYPE = core;
  return core;
}

/** Loads the addon from `root` (build/ first, then prebuilds/, as node-gyp-build does); never throws, never caches. */
export function loadNativeFrom(root: string): NativeLoad {
  let binary: string | null = null;
  try {
    // node-gyp-build looks in build/ and prebuilds/<platform>-<arch>/ and picks what matches this Node and CPU.
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    binary = nodeGypBuild.resolve(root);
    chooseOpenBlasCore();
    const addon = require(binary) as NativeAddon;
    const source = path.relative(root, binary).split(path.sep)[0] === 'prebuilds' ? 'prebuild' : 'local build';
    return { addon, path: binary, source, error: null };
  } catch (e) {
    const cause = (e as Error).message.split('\n')[0];
    const error = new Error(
      `fcnet: the native CPU addon could not be loaded for Node ${process.version} (N-API ${process.versions.napi}) on ${process.platform}-${process.arch}.\n` +
        `Tried:\n${placesLookedAt(root, binary).join('\n')}\nCause: ${cause}\n` +
        `To fix: ${fixFor(cause, binary !== null)}; or train with the pure TypeScript backend: { backend: 'js' }.`,
    );
    return { addon: null, path: null, source: null, error };
  }
}

/** Loads exactly the binary at `file` (FCNET_ADDON_PATH: a sanitizer build, an old build to compare); never throws. */
export function loadNativeFile(file: string): NativeLoad {
  try {
    chooseOpenBlasCore();
    return { addon: require(path.resolve(file)) as NativeAddon, path: path.resolve(file), source: 'local build', error: null };
  } catch (e) {
    const cause = (e as Error).message.split('\n')[0];
    return { addon: null, path: null, source: null, error: new Error(`fcnet: FCNET_ADDON_PATH names ${file}, which did not load: ${cause}. Unset it to load the package's own addon.`) };
  }
}

/** Loads the addon once; never throws. FCNET_ADDON_PATH, when set, names the one binary to load instead. */
export function loadNative(): NativeLoad {
  loaded ??= process.env.FCNET_ADDON_PATH ? loadNativeFile(process.env.FCNET_ADDON_PATH) : loadNativeFrom(nativeRoot());
  return loaded;
}

/** The addon, or the loader's error explaining why there is none. */
export function requireNative(): NativeAddon {
  const load = loadNative();
  if (!load.addon) throw load.error!;
  return load.addon;
}

// The one loader of the native CPU addon. If no binary loads, one error says what was tried and what to do.
import * as fs from 'fs';
import * as path from 'path';
import type { AdamHyper } from './backends/types';
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
  SparseTrainer: new (sizes: Int32Array, maxBatch: number, threads: number) => NativeSparseTrainer;
  gemmInfo(): { blas: 'openblas' | 'fallback'; config: string; threads: number };
  setThreads(threads: number): void;
}

/** The fused, multi-threaded training step for mostly-zero inputs (native/sparse_trainer.h). */
export interface NativeSparseTrainer {
  readonly threads: number;
  trainBatch(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, images: Uint8Array, labels: Int32Array,
    indices: Int32Array, offset: number, B: number, hyper: AdamHyper, step: number): number;
  /** Writes the last fused step's fc1.weight gradient (kept transposed inside) into grads. */
  downloadGradients(grads: Float32Array): void;
  invalidateShadow(): void;
  dispose(): void;
}

export interface NativeLoad {
  addon: NativeAddon | null;
  /** Where the binary came from, or why none loaded. */
  path: string | null;
  error: Error | null;
}

let loaded: NativeLoad | undefined;

function candidateBinaries(root: string): string[] {
  const prebuilds = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const found = fs.existsSync(prebuilds) ? fs.readdirSync(prebuilds).map((f) => path.join(prebuilds, f)) : [];
  return [path.join(root, 'build', 'Release', 'fcnet.node'), path.join(root, 'build', 'Debug', 'fcnet.node'), ...found];
}

/** Loads the addon once; never throws. */
export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  const root = packageRoot();
  try {
    // node-gyp-build looks in build/ and prebuilds/<platform>-<arch>/ and picks what matches this Node and CPU.
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    const binary = nodeGypBuild.resolve(root);
    loaded = { addon: require(binary) as NativeAddon, path: binary, error: null };
  } catch (cause) {
    const tried = candidateBinaries(root).map((p) => `  - ${p}${fs.existsSync(p) ? '' : ' (missing)'}`).join('\n');
    const error = new Error(
      `fcnet: the native CPU addon could not be loaded for Node ${process.version} (N-API ${process.versions.napi}) on ${process.platform}-${process.arch}.\n` +
        `Tried:\n${tried}\nCause: ${(cause as Error).message.split('\n')[0]}\n` +
        `To fix: install a C++ compiler and Python (and OpenBLAS for speed: apt-get install build-essential libopenblas-dev), ` +
        `then run \`npm rebuild fcnet\`; or train with the pure TypeScript backend: { backend: 'js' }.`,
    );
    loaded = { addon: null, path: null, error };
  }
  return loaded;
}

/** The addon, or the loader's error explaining why there is none. */
export function requireNative(): NativeAddon {
  const load = loadNative();
  if (!load.addon) throw load.error!;
  return load.addon;
}

// Which backends exist here, and making an engine for the one asked for.
// 'cpu' and 'cuda' never fall back silently: asked for and missing, they throw saying why.
// 'auto' picks cuda when built and a device answers, else cpu, else pure TS with one warning.
import * as os from 'os';
import { loadNative, requireNative } from '../binding';
import { CudaEngine, probeCuda } from './cuda';
import { HostEngine } from './host-engine';
import { jsKernels } from './js-kernels';
import { CpuEngine } from './cpu-engine';
import { defaultNetworkSpec, type NetworkSpec } from '../network';
import type { BackendName, Engine, ParameterBuffers } from './types';

export type BackendChoice = BackendName | 'auto';
export const backendChoices: readonly BackendChoice[] = ['auto', 'cpu', 'js', 'cuda'];

export interface BackendReport {
  name: BackendName;
  available: boolean;
  /** What it runs on (BLAS, device, binary), or why it is not available. */
  detail: string;
}

/** What each backend would run on here, and why not where it cannot. */
export function backends(): BackendReport[] {
  const native = loadNative();
  const cpu: BackendReport = native.addon
    ? { name: 'cpu', available: true, detail: cpuDetail() }
    : { name: 'cpu', available: false, detail: native.error!.message };
  const cuda = probeCuda();
  return [
    cpu,
    { name: 'js', available: true, detail: 'pure TypeScript, single-threaded' },
    { name: 'cuda', available: cuda.available, detail: cuda.available ? (cuda.device ?? 'CUDA device') : cuda.reason },
  ];
}

function cpuDetail(): string {
  const native = loadNative();
  const info = native.addon!.gemmInfo();
  const blas = info.blas === 'openblas' ? `OpenBLAS (${info.config.trim()}), ${info.threads} threads` : info.config;
  return `${blas}; binary ${native.path}`;
}

let warnedFallback = false;

/** The backend 'auto' means on this machine. */
export function resolveBackend(choice: BackendChoice): BackendName {
  if (choice !== 'auto') return choice;
  if (probeCuda().available) return 'cuda';
  const native = loadNative();
  if (native.addon) return 'cpu';
  if (!warnedFallback) {
    warnedFallback = true;
    process.emitWarning(`fcnet: using the pure TypeScript backend, much slower. ${native.error!.message}`, 'FcnetFallbackWarning');
  }
  return 'js';
}

/** Threads the CPU backend uses by default: one per core. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(64, os.availableParallelism()));
}

/**
 * An engine for `network` on the backend asked for, over the model's flat buffers, with scratch for batches of
 * maxBatch. Layer widths alone mean the reference semantics (ReLU, cross-entropy).
 */
export function createEngine(choice: BackendChoice, network: NetworkSpec | readonly number[], buffers: ParameterBuffers, maxBatch: number, threads = defaultThreads()): Engine {
  const spec = isSizes(network) ? defaultNetworkSpec(network) : network;
  const name = resolveBackend(choice);
  switch (name) {
    case 'cpu':
      return new CpuEngine(requireNative(), spec, buffers, maxBatch, threads);
    case 'js':
      return new HostEngine('js', jsKernels, spec, buffers, maxBatch);
    case 'cuda':
      return new CudaEngine(spec, buffers, maxBatch);
  }
}

function isSizes(network: NetworkSpec | readonly number[]): network is readonly number[] {
  return Array.isArray(network);
}

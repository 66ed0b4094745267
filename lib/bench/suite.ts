// `fcnet bench --compare-pytorch --suite`: fcnet and PyTorch take turns on each workload of issue 13's table
// (lib/bench/workloads.ts) through one run of a shared machine; medians of the samples with their spread, and the
// ratio to PyTorch's best setting. PyTorch runs as two long-lived servers (1 thread; 2 threads with 1 BLAS thread),
// both with glibc's malloc tuned (lib/bench/pytorch.ts), so that no sample pays for starting Python.
import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { CpuEngine } from '../backends/cpu-engine';
import type { Engine, StepHyper } from '../backends/types';
import type { NativeAddon } from '../binding';
import type { Dataset } from '../data/dataset';
import { MLP } from '../model';
import { packageRoot } from '../package-root';
import { median } from './measure';
import { pytorchAvailable } from './pytorch';
import { suiteWorkloads, workloadData, type SuiteOptimizer, type Workload, type WorkloadData } from './workloads';

/** A workload's optimizer as the engine's fused step takes it (torch.optim's defaults for what it leaves out). */
function stepHyperOf(o: SuiteOptimizer | undefined): StepHyper {
  if (o?.kind === 'sgd') return { kind: 'sgd', lr: o.lr, momentum: o.momentum, dampening: 0, nesterov: false, weightDecay: 0 };
  const adam = { lr: o?.lr ?? 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  return o?.kind === 'adamw' ? { kind: 'adamw', ...adam, weightDecay: o.weightDecay } : { ...adam, weightDecay: 0 };
}
const keepFreedMemory = { MALLOC_TOP_PAD_: String(64 << 20), MALLOC_TRIM_THRESHOLD_: String(128 << 20) };

export interface Spread {
  /** Median seconds per epoch over the samples, and the fastest and slowest sample. */
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export interface SuiteRow {
  workload: string;
  target: string;
  fcnet: Spread;
  /** Seconds per epoch of each PyTorch setting, by label. */
  pytorch: Record<string, Spread>;
  best: string;
  speedUp: number;
  /** A workload with an input transform: fcnet on the same data untransformed, its samples taken in turns. */
  untransformed?: Spread;
  /** fcnet's time per step in each phase of its engine, and the dense-equivalent GFLOP/s of the products. */
  phases?: { msPerStep: Record<string, number>; forwardGflops: number; backwardGflops: number; sparseShare: number };
}

export interface SuiteResult {
  available: boolean;
  reason?: string;
  torch?: string;
  /** OpenBLAS's sgemm on 1024×1024 matrices, 2 threads: the machine's figure for large dense products. */
  blasGflops?: number;
  rows: SuiteRow[];
  /**
   * fcnet on normalised MNIST over raw MNIST: the median of the ratios of samples taken in turns within the
   * normalised workload (the machine's speed drifts between workloads a minute apart).
   */
  normalisedOverRaw?: number;
}

function spread(samples: number[]): Spread {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples };
}

/** One PyTorch server (scripts/bench/pytorch_suite.py), answering one request at a time. */
class TorchServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterableIterator<string>;
  private stderr = '';

  constructor(readonly label: string, threads: number, env: Record<string, string>) {
    const script = path.join(packageRoot(), 'scripts', 'bench', 'pytorch_suite.py');
    this.child = spawn('/usr/bin/python3', [script, String(threads)], { env: { ...process.env, ...env } });
    this.child.stderr.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-2000); });
    this.lines = readline.createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  private async reply(): Promise<Record<string, unknown>> {
    const next = await this.lines.next();
    if (next.done) throw new Error(`PyTorch (${this.label}) stopped: ${this.stderr.trim().split('\n').pop() ?? ''}`);
    const reply = JSON.parse(next.value) as Record<string, unknown>;
    if (typeof reply.error === 'string') throw new Error(`PyTorch (${this.label}): ${reply.error}`);
    return reply;
  }

  async version(): Promise<string> {
    return String((await this.reply()).torch);
  }

  async seconds(request: object): Promise<number> {
    this.child.stdin.write(JSON.stringify(request) + '\n');
    return Number((await this.reply()).seconds);
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

/** fcnet on one workload: the engine fit() would make, stepping through shuffled epochs. */
class FcnetJob {
  readonly engine: Engine;
  private readonly handle: ReturnType<Engine['attachDataset']>;
  private readonly order: Int32Array;
  private at = 0;
  private step = 0;
  private readonly hyper: StepHyper;

  constructor(w: Workload, private readonly data: WorkloadData, threads: number) {
    this.hyper = stepHyperOf(w.optimizer);
    const I = w.sizes[0];
    const model = new MLP({
      sizes: w.sizes, backend: 'cpu', threads, seed: 0,
      ...(w.normalise ? { inputMean: new Float32Array(I).fill(w.normalise.mean), inputStd: new Float32Array(I).fill(w.normalise.std) } : {}),
    });
    this.engine = model.engine(w.batch);
    this.handle = this.engine.attachDataset(data.images, data.labels, data.n, data.d, data.cols);
    this.order = Int32Array.from({ length: data.n }, (_, i) => i);
    this.shuffle();
  }

  private shuffle(): void {
    for (let i = this.order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
    }
    this.at = 0;
  }

  seconds(steps: number, B: number): number {
    const start = performance.now();
    for (let s = 0; s < steps; s++) {
      if (this.at + B > this.data.n) this.shuffle();
      this.engine.trainBatch(this.handle, this.order, this.at, B, this.hyper, ++this.step, false);
      this.at += B;
    }
    return (performance.now() - start) / 1000;
  }
}

/** OpenBLAS's sgemm 1024³ on 2 threads, best of 5, GFLOP/s; the Network sets the BLAS back to 1 thread itself. */
function blasFigure(addon: NativeAddon): number {
  const n = 1024;
  const a = new Float32Array(n * n).fill(0.5), b = new Float32Array(n * n).fill(0.25), c = new Float32Array(n * n);
  const before = addon.gemmInfo().threads;
  addon.setThreads(2);
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    addon.sgemm(false, false, n, n, n, a, b, c, false);
    if (i > 0) best = Math.min(best, performance.now() - t);
  }
  addon.setThreads(before);
  return (2 * n ** 3) / (best * 1e6);
}

function phasesOf(engine: Engine, w: Workload): SuiteRow['phases'] {
  if (!(engine instanceof CpuEngine)) return undefined;
  const p = engine.takePhaseSeconds();
  if (p.steps === 0) return undefined;
  const per = (s: number) => (1000 * s) / p.steps;
  let products = 0; // multiply-adds of one forward over the batch
  for (let l = 0; l + 1 < w.sizes.length; l++) products += w.batch * w.sizes[l] * w.sizes[l + 1];
  const firstInput = w.batch * w.sizes[0] * w.sizes[1]; // the first layer has no input gradient
  return {
    msPerStep: { gather: per(p.gather), forward: per(p.forward), backward: per(p.backward), 'sparse first-layer gradient': per(p.sparseGradient), optimizer: per(p.adam) },
    forwardGflops: (2 * products) / (p.forward * 1e9 / p.steps),
    backwardGflops: (2 * (2 * products - firstInput)) / ((p.backward + p.sparseGradient) * 1e9 / p.steps),
    sparseShare: p.sparseSteps / p.steps,
  };
}

/**
 * Runs the suite: for each workload, `repeats` rounds of one fcnet sample and one sample of each PyTorch setting.
 * A sample times `steps` training steps (after untimed warm-up steps) and is scaled to seconds per epoch.
 */
export async function runSuite(addon: NativeAddon, mnist: Dataset, threads: number, repeats: number, log: (line: string) => void,
  only?: (w: Workload) => boolean): Promise<SuiteResult> {
  const { ok, reason } = pytorchAvailable();
  if (!ok) return { available: false, reason, rows: [] };
  const blasGflops = blasFigure(addon);
  const servers = [
    new TorchServer('1 thread', 1, keepFreedMemory),
    new TorchServer('2 threads, 1 BLAS thread', 2, { ...keepFreedMemory, OPENBLAS_NUM_THREADS: '1' }),
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-suite-'));
  try {
    const torch = (await Promise.all(servers.map((s) => s.version())))[0];
    const rows: SuiteRow[] = [];
    const files = new Map<string, { images: string; labels: string }>();
    for (const w of suiteWorkloads.filter(only ?? (() => true))) {
      const data = workloadData(w.data, mnist);
      if (!files.has(w.data)) {
        const images = path.join(dir, `${w.data}.u8`), labels = path.join(dir, `${w.data}.i32`);
        fs.writeFileSync(images, data.images);
        fs.writeFileSync(labels, new Uint8Array(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength));
        files.set(w.data, { images, labels });
      }
      const request = {
        name: w.name, ...files.get(w.data)!, n: data.n, d: data.d, sizes: w.sizes, batch: w.batch, steps: w.steps,
        mean: w.normalise?.mean ?? null, std: w.normalise?.std ?? null, optimizer: w.optimizer ?? { kind: 'adam', lr: 0.001 },
      };
      const perEpoch = Math.ceil(data.n / w.batch) / w.steps;
      log(`${w.name} ...`);
      const job = new FcnetJob(w, data, threads);
      job.seconds(Math.max(20, w.steps >> 3), w.batch); // warm-up: scratch, threads, caches
      if (job.engine instanceof CpuEngine) job.engine.takePhaseSeconds();
      // With an input transform, the same network on the raw data too, in turns with it (first every other round).
      const raw = w.normalise ? new FcnetJob({ ...w, normalise: null }, data, threads) : null;
      raw?.seconds(Math.max(20, w.steps >> 3), w.batch);
      const fcnet: number[] = [], untransformed: number[] = [];
      const pytorch: Record<string, number[]> = Object.fromEntries(servers.map((s) => [s.label, []]));
      for (let r = 0; r < repeats; r++) {
        if (raw && r % 2 === 0) untransformed.push(raw.seconds(w.steps, w.batch) * perEpoch);
        fcnet.push(job.seconds(w.steps, w.batch) * perEpoch);
        if (raw && r % 2 === 1) untransformed.push(raw.seconds(w.steps, w.batch) * perEpoch);
        for (const s of servers) pytorch[s.label].push((await s.seconds(request)) * perEpoch);
      }
      const phases = phasesOf(job.engine, w);
      job.engine.dispose();
      raw?.engine.dispose();
      const torchSpreads = Object.fromEntries(Object.entries(pytorch).map(([k, v]) => [k, spread(v)]));
      const [best, bestSpread] = Object.entries(torchSpreads).sort((a, b) => a[1].median - b[1].median)[0];
      const row: SuiteRow = { workload: w.name, target: w.target, fcnet: spread(fcnet), pytorch: torchSpreads, best, speedUp: bestSpread.median / median(fcnet) };
      if (raw) row.untransformed = spread(untransformed);
      if (phases) row.phases = phases;
      rows.push(row);
    }
    const result: SuiteResult = { available: true, torch, blasGflops, rows };
    const normalised = rows.find((r) => r.untransformed);
    if (normalised) result.normalisedOverRaw = median(normalised.fcnet.samples.map((t, i) => t / normalised.untransformed!.samples[i]));
    return result;
  } finally {
    for (const s of servers) s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const s2 = (x: number) => x.toFixed(x < 1 ? 3 : 2);

/** The suite as table rows: the table with the spread of each median, then where fcnet's steps go. */
export function suiteTables(r: SuiteResult, threads: number): string[][][] {
  const header = ['workload', `fcnet s/epoch (${threads} threads; min–max)`, 'PyTorch best s/epoch (min–max)', 'PyTorch setting', 'fcnet speed-up', 'target'];
  const main = [header, ...r.rows.map((row) => {
    const t = row.pytorch[row.best];
    return [row.workload, `${s2(row.fcnet.median)} (${s2(row.fcnet.min)}–${s2(row.fcnet.max)})`, `${s2(t.median)} (${s2(t.min)}–${s2(t.max)})`, row.best, `${row.speedUp.toFixed(2)}×`, row.target];
  })];
  const phaseNames = ['gather', 'forward', 'backward', 'sparse first-layer gradient', 'optimizer'];
  const phases = [['where an fcnet step goes (ms per step)', ...phaseNames, 'forward GFLOP/s', 'backward GFLOP/s', 'sparse steps'],
    ...r.rows.filter((row) => row.phases).map((row) => [row.workload, ...phaseNames.map((k) => row.phases!.msPerStep[k].toFixed(3)),
      row.phases!.forwardGflops.toFixed(1), row.phases!.backwardGflops.toFixed(1), `${(100 * row.phases!.sparseShare).toFixed(0)} %`])];
  return phases.length > 1 ? [main, phases] : [main];
}

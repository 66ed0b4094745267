// PyTorch on the same job, run back to back with fcnet in one benchmark run (--compare-pytorch).
import { spawnSync } from 'child_process';
import * as path from 'path';
import { packageRoot } from '../../lib/package-root';
import { median } from './measure';

export interface PytorchResult {
  available: boolean;
  /** Why not, when not available. */
  reason?: string;
  version?: string;
  /** Median seconds per epoch for each thread setting. */
  secondsPerEpoch?: Record<string, number>;
  bestThreads?: string;
  bestSecondsPerEpoch?: number;
}

const python = '/usr/bin/python3';

export function pytorchAvailable(): { ok: boolean; reason: string } {
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.error) return { ok: false, reason: `${python} not found` };
  if (probe.status !== 0) return { ok: false, reason: `${python} has no torch (apt-get install python3-torch)` };
  return { ok: true, reason: '' };
}

export function benchPytorch(mnistDir: string, epochs: number, threads: number[]): PytorchResult {
  const { ok, reason } = pytorchAvailable();
  if (!ok) return { available: false, reason };
  const script = path.join(packageRoot(), 'scripts', 'bench', 'pytorch_epochs.py');
  const run = spawnSync(python, [script, mnistDir, String(epochs), threads.join(',')], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (run.status !== 0) return { available: false, reason: `PyTorch run failed: ${run.stderr.trim().split('\n').pop()}` };
  const out = JSON.parse(run.stdout) as { torch: string; threads: Record<string, number[]> };
  const secondsPerEpoch = Object.fromEntries(Object.entries(out.threads).map(([t, s]) => [t, median(s)]));
  const [bestThreads, bestSecondsPerEpoch] = Object.entries(secondsPerEpoch).sort((a, b) => a[1] - b[1])[0];
  return { available: true, version: out.torch, secondsPerEpoch, bestThreads, bestSecondsPerEpoch };
}

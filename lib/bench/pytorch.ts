// PyTorch on the same job, run back to back with fcnet in one benchmark run (--compare-pytorch).
import { spawnSync } from 'child_process';
import * as path from 'path';
import { packageRoot } from '../package-root';
import { median } from './measure';

/** One way of running PyTorch: its intra-op threads and the environment it starts with. */
interface PytorchSetting {
  label: string;
  threads: number;
  env: Record<string, string>;
}

// Debian's torch as shipped, then with glibc's malloc told to keep freed memory. PyTorch 1.13's Adam makes
// temporaries of the parameters' size every step; by default glibc hands those back to the kernel and faults
// them in again, which on this machine costs more than the arithmetic (Adam: ~7 ms a step, 0.4 ms tuned).
// Two torch threads next to OpenBLAS's own two oversubscribe the cores, so that setting gets one BLAS thread.
const keepFreedMemory = { MALLOC_TOP_PAD_: String(64 << 20), MALLOC_TRIM_THRESHOLD_: String(128 << 20) };
const settings: PytorchSetting[] = [
  { label: '1 thread', threads: 1, env: {} },
  { label: '2 threads', threads: 2, env: {} },
  { label: '1 thread, malloc tuned', threads: 1, env: keepFreedMemory },
  { label: '2 threads, 1 BLAS thread, malloc tuned', threads: 2, env: { ...keepFreedMemory, OPENBLAS_NUM_THREADS: '1' } },
];

export interface PytorchResult {
  available: boolean;
  /** Why not, when not available. */
  reason?: string;
  version?: string;
  /** Median seconds per epoch for each setting, by label. */
  secondsPerEpoch?: Record<string, number>;
  /** The environment each setting ran with, by label. */
  environment?: Record<string, Record<string, string>>;
  best?: string;
  bestSecondsPerEpoch?: number;
}

const python = '/usr/bin/python3';

export function pytorchAvailable(): { ok: boolean; reason: string } {
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.error) return { ok: false, reason: `${python} not found` };
  if (probe.status !== 0) return { ok: false, reason: `${python} has no torch (apt-get install python3-torch)` };
  return { ok: true, reason: '' };
}

/**
 * Times PyTorch's settings one after another. `between` runs before the first setting and after each one: the
 * benchmark times fcnet there, so that both are measured across the same stretch of a shared machine's time.
 */
export async function benchPytorch(mnistDir: string, epochs: number, log: (line: string) => void, between: () => Promise<void>): Promise<PytorchResult> {
  const { ok, reason } = pytorchAvailable();
  if (!ok) return { available: false, reason };
  const script = path.join(packageRoot(), 'scripts', 'bench', 'pytorch_epochs.py');
  const secondsPerEpoch: Record<string, number> = {};
  const environment: Record<string, Record<string, string>> = {};
  let version = '';
  await between();
  for (const s of settings) {
    log(`PyTorch, ${s.label} ...`);
    const run = spawnSync(python, [script, mnistDir, String(epochs), String(s.threads)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      env: { ...process.env, ...s.env },
    });
    if (run.status !== 0) return { available: false, reason: `PyTorch run failed: ${run.stderr.trim().split('\n').pop()}` };
    const out = JSON.parse(run.stdout) as { torch: string; threads: Record<string, number[]> };
    version = out.torch;
    secondsPerEpoch[s.label] = median(out.threads[String(s.threads)]);
    environment[s.label] = s.env;
    await between();
  }
  const [best, bestSecondsPerEpoch] = Object.entries(secondsPerEpoch).sort((a, b) => a[1] - b[1])[0];
  return { available: true, version, secondsPerEpoch, environment, best, bestSecondsPerEpoch };
}

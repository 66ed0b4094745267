// Timing with warm-up and medians: the machine is shared and noisy, so one sample means little.

export interface Timing {
  /** Median milliseconds of one call. */
  medianMs: number;
  samples: number;
}

/**
 * Calls fn until `warmupMs` has passed, then takes `repeats` samples; each sample runs fn enough
 * times to last about `minSampleMs`, so sub-millisecond kernels are timed above the clock's noise.
 */
export function measure(fn: () => void, repeats: number, warmupMs = 200, minSampleMs = 5): Timing {
  const warmStart = performance.now();
  let calls = 0;
  while (performance.now() - warmStart < warmupMs || calls < 2) {
    fn();
    calls++;
  }
  const perCall = (performance.now() - warmStart) / calls;
  const inner = Math.max(1, Math.ceil(minSampleMs / Math.max(perCall, 1e-6)));
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    for (let i = 0; i < inner; i++) fn();
    times.push((performance.now() - t) / inner);
  }
  return { medianMs: median(times), samples: repeats * inner };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

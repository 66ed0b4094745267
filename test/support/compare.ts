// Element-wise comparison with the fixtures' tolerance, "1e-4 relative or 1e-6 absolute" read as torch.allclose
// and numpy.allclose read it: |a − b| ≤ abs + rel·|b|. Logs the largest difference.

export interface Difference {
  name: string;
  maxAbs: number;
  worstIndex: number;
  ok: boolean;
}

export function compareArrays(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-4, abs = 1e-6): Difference {
  if (actual.length !== expected.length) throw new Error(`${name}: length ${actual.length} vs expected ${expected.length}`);
  let maxAbs = 0;
  let worstIndex = -1;
  let ok = true;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= abs + rel * Math.abs(expected[i]))) {
      if (ok) worstIndex = i;
      ok = false;
    }
    if (!(d <= maxAbs)) {
      maxAbs = d;
      if (ok) worstIndex = i;
    }
  }
  return { name, maxAbs, worstIndex, ok };
}

/** Asserts every comparison passed, after printing one line per tensor. */
export function expectAllClose(title: string, diffs: Difference[]): void {
  const lines = diffs.map((d) => `  ${d.ok ? 'ok  ' : 'FAIL'} ${d.name.padEnd(34)} max |diff| ${d.maxAbs.toExponential(2)}`);
  console.log(`${title}\n${lines.join('\n')}`);
  const failed = diffs.filter((d) => !d.ok).map((d) => `${d.name} (max |diff| ${d.maxAbs.toExponential(2)}, first bad index ${d.worstIndex})`);
  expect(failed).toEqual([]);
}

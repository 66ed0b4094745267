// Native code never trusts caller memory that can change: test/fuzz/shared-memory-race.js races every native entry
// point that indexes with labels or indices (softmaxCrossEntropy, gatherBatch, Network.trainBatch; with
// FCNET_CUDA_ADDON also CudaEngine.computeGradients, attachDataset, trainBatch) against a worker flipping those
// values in a SharedArrayBuffer, in a child process, so a crash shows as a signal. Each call must return, or throw
// the RangeError of the value it read; guard values around the outputs must stay. FCNET_ADDON_PATH picks the binary.
import { spawnSync } from 'child_process';
import * as path from 'path';

const CPU_CASES = ['softmaxCrossEntropy', 'gatherBatch', 'Network.trainBatch labels (784-32-10)',
  'Network.trainBatch indices (784-32-10)', 'Network.trainBatch labels (784-16-12-10)'];
const CUDA_CASES = ['CudaEngine.computeGradients', 'CudaEngine.attachDataset', 'CudaEngine.trainBatch'];

test('labels and indices changed by another thread during native calls: a result or a RangeError, never a crash', () => {
  const script = path.join(__dirname, 'fuzz', 'shared-memory-race.js');
  const child = spawnSync(process.execPath, [script, '--seconds', '5', '--returned', '300'], { encoding: 'utf8', timeout: 110_000 });
  const report = `exit status ${child.status}, signal ${child.signal}${child.error ? `, ${child.error.message}` : ''}\n${child.stderr.slice(-4000)}`;
  if (child.status !== 0 || child.signal !== null) throw new Error(`the race did not finish cleanly: ${report}`);
  const summary = JSON.parse(child.stdout.trim().split('\n').pop() as string) as {
    seconds: number;
    cases: Record<string, { calls: number; returned: number; refused: number }>;
    problems: string[];
  };
  console.log(`shared-memory race in ${summary.seconds.toFixed(1)} s, 0 crashes:\n${Object.entries(summary.cases)
    .map(([name, r]) => `  ${name.padEnd(48)} ${String(r.calls).padStart(6)} calls: ${String(r.returned).padStart(4)} returned, ${String(r.refused).padStart(6)} refused`).join('\n')}`);
  expect(summary.problems).toEqual([]);
  const expected = process.env.FCNET_CUDA_ADDON ? [...CPU_CASES, ...CUDA_CASES] : CPU_CASES;
  expect(Object.keys(summary.cases)).toEqual(expected);
  for (const [name, r] of Object.entries(summary.cases)) {
    // Both outcomes seen: the worker really changed the values while the calls ran.
    expect({ name, returned: r.returned > 0, refused: r.refused > 0 }).toEqual({ name, returned: true, refused: true });
  }
}, 120_000);

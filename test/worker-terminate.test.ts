// worker.terminate() during native calls ends the worker, never the process: test/fuzz/worker-terminate.js stops
// 40 workers at seeded random moments while they loop over MLP.logits, fit, the addon's trainBatch (whose hyper
// getter calls back into JS) and softmaxCrossEntropy, and with FCNET_CUDA_ADDON the cuda addon's forward and
// trainBatch; in a child process, so an abort (std::terminate) shows as a signal. The main thread's timer runs
// throughout. FCNET_ADDON_PATH (absolute) picks the cpu binary.
import { spawnSync } from 'child_process';
import * as path from 'path';

test('40 workers terminated inside native calls: each ends with exit code 1, the main thread goes on', () => {
  const script = path.join(__dirname, 'fuzz', 'worker-terminate.js');
  const child = spawnSync(process.execPath, [script, '--workers', '40', '--seed', '20261130'], { encoding: 'utf8', timeout: 170_000 });
  const report = `exit status ${child.status}, signal ${child.signal}${child.error ? `, ${child.error.message}` : ''}\n${child.stderr.slice(-4000)}`;
  if (child.status !== 0 || child.signal !== null) throw new Error(`the process did not survive: ${report}`);
  const summary = JSON.parse(child.stdout.trim().split('\n').pop() as string) as {
    workers: number;
    terminated: Record<string, number>;
    exitCodes: Record<string, number>;
    mainThreadTicks: number;
  };
  console.log(`worker.terminate() during native calls: ${JSON.stringify(summary)}`);
  const kinds = ['logits', 'fit', 'addon', ...(process.env.FCNET_CUDA_ADDON ? ['cuda'] : [])];
  expect(Object.keys(summary.terminated)).toEqual(kinds);
  expect(Object.values(summary.terminated).reduce((a, b) => a + b, 0)).toBe(40);
  expect(summary.exitCodes).toEqual({ 1: 40 }); // a terminated worker's exit code
  expect(summary.mainThreadTicks).toBeGreaterThan(0);
}, 180_000);

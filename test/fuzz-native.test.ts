// The native boundary under random wrong arguments: test/fuzz/native-calls.js makes 10,000 calls into every
// exported function, the Network constructor, its training-step methods and its accessors, in a child process, so a
// crash is seen as a signal instead of killing the test runner. FCNET_FUZZ_CALLS lowers the count (the sanitizer
// run); FCNET_ADDON_PATH, passed on, picks the binary.
import { spawnSync } from 'child_process';
import * as path from 'path';

const CALLS = Number(process.env.FCNET_FUZZ_CALLS ?? 10000);
const SEED = 20240611;

interface FunctionStats {
  calls: number;
  ok: number;
  TypeError: number;
  RangeError: number;
  Error: number;
  getterError: number;
  ms: number;
}

test(`${CALLS} calls into every native function with wrong arguments: each returns or throws an Error, none crashes`, () => {
  const script = path.join(__dirname, 'fuzz', 'native-calls.js');
  const child = spawnSync(process.execPath, [script, '--seed', String(SEED), '--calls', String(CALLS)], { encoding: 'utf8', timeout: 110_000, maxBuffer: 1 << 24 });
  const report = `exit status ${child.status}, signal ${child.signal}${child.error ? `, ${child.error.message}` : ''}\n${child.stderr.slice(-4000)}`;
  if (child.status !== 0 || child.signal !== null) throw new Error(`the fuzzer did not finish cleanly: ${report}`);
  const summary = JSON.parse(child.stdout.trim().split('\n').pop() as string) as {
    seconds: number;
    totalCalls: number;
    distinctMessages: number;
    functions: Record<string, FunctionStats>;
    problems: string[];
  };
  const rows = Object.entries(summary.functions).map(([name, s]) =>
    `  ${name.padEnd(20)} ${String(s.calls).padStart(6)} calls: ${String(s.ok).padStart(5)} returned, ${String(s.TypeError).padStart(5)} TypeError, ${String(s.RangeError).padStart(5)} RangeError, ${String(s.Error).padStart(4)} Error, ${String(s.getterError).padStart(4)} from the test's own getters`);
  console.log(`native fuzz, seed ${SEED}: ${summary.totalCalls} calls in ${summary.seconds.toFixed(1)} s, ${summary.distinctMessages} distinct messages, 0 crashes\n${rows.join('\n')}`);
  expect(summary.problems).toEqual([]);
  const expected = ['linearForward', 'linearBackward', 'reluBackward', 'softmaxCrossEntropy', 'adamUpdate', 'argmax', 'gatherBatch', 'sgemm', 'gemmInfo',
    'setThreads', 'Network()', 'trainBatch', 'download', 'invalidateShadow', 'takePhaseSeconds', 'dispose', 'threads', 'vectorFloats'];
  expect(Object.keys(summary.functions).sort()).toEqual([...expected].sort());
  for (const [name, s] of Object.entries(summary.functions)) {
    expect({ name, calls: s.calls }).toEqual({ name, calls: CALLS });
    expect({ name, accounted: s.ok + s.TypeError + s.RangeError + s.Error + s.getterError }).toEqual({ name, accounted: CALLS });
    if (name !== 'gemmInfo') expect({ name, refused: s.TypeError + s.RangeError + s.Error > 0 }).toEqual({ name, refused: true });
    expect({ name, returned: s.ok > 0 }).toEqual({ name, returned: true });
  }
}, 120_000);

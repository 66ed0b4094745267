// lib/binding.ts names the CPU's family for OpenBLAS (OPENBLAS_CORETYPE) before the addon loads, unless the user did.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chooseOpenBlasCore } from '../lib/binding';

const linuxX64 = process.platform === 'linux' && process.arch === 'x64';

function cpuinfo(flags: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-cpuinfo-')), 'cpuinfo');
  fs.writeFileSync(file, `processor\t: 0\nmodel\t\t: 207\nflags\t\t: ${flags}\n\nprocessor\t: 1\nflags\t\t: ${flags}\n`);
  return file;
}

(linuxX64 ? test : test.skip)('picks SkylakeX for AVX-512, Haswell for AVX2 with FMA, nothing for older CPUs', () => {
  const cases: [string, string | null][] = [
    ['fpu sse sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl', 'SkylakeX'],
    ['fpu sse sse2 avx avx2 fma avx512f', 'Haswell'], // AVX-512 without BW/DQ/VL (Knights Landing): not SkylakeX's kernels
    ['fpu sse sse2 avx avx2 fma', 'Haswell'],
    ['fpu sse sse2 avx', null],
  ];
  for (const [flags, core] of cases) {
    const env: NodeJS.ProcessEnv = {};
    expect(chooseOpenBlasCore(env, cpuinfo(flags))).toBe(core);
    expect(env.OPENBLAS_CORETYPE).toBe(core ?? undefined);
  }
});

test("leaves the user's choice alone, even an empty one", () => {
  for (const chosen of ['Haswell', '']) {
    const env: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: chosen };
    expect(chooseOpenBlasCore(env, cpuinfo('avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl'))).toBe(null);
    expect(env.OPENBLAS_CORETYPE).toBe(chosen);
  }
});

test('an unreadable /proc/cpuinfo changes nothing', () => {
  const env: NodeJS.ProcessEnv = {};
  expect(chooseOpenBlasCore(env, '/nonexistent/cpuinfo')).toBe(null);
  expect(env).toEqual({});
});

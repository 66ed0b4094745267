// The engine's core outside Node (native/test/core_test.cc, built by scripts/cross-arm64.sh with the fallback GEMM):
// on this machine always, and cross-compiled for linux-arm64 and run under qemu-user where Debian's
// g++-aarch64-linux-gnu and qemu-user are installed (.ci/run installs them), so the portable SIMD path is checked on
// a CPU that is not x86.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..');

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** Runs the script for one target; returns its output, after checking that every case passed. */
function runCoreTest(target: 'native' | 'arm64'): string {
  const run = spawnSync('bash', [path.join(root, 'scripts/cross-arm64.sh'), target], { cwd: root, encoding: 'utf8' });
  const output = `${run.stdout}${run.stderr}`;
  expect([run.status, output]).toEqual([0, expect.stringMatching(/\ncore_test: 14 cases, 0 failures\n/)]);
  return output;
}

test('the engine core passes its checks on this machine (fallback GEMM, no N-API)', () => {
  const output = runCoreTest('native');
  expect(output).toMatch(/core_test: gemm fallback/);
});

const missing = ['aarch64-linux-gnu-g++', 'qemu-aarch64'].filter((tool) => !has(tool));
const arm64 = missing.length === 0 ? test : test.skip;
if (missing.length > 0) {
  console.warn(`arm64 core test skipped: ${missing.join(' and ')} not found (apt-get install g++-aarch64-linux-gnu qemu-user)`);
}

arm64(`the engine core passes its checks built for linux-arm64, under qemu-aarch64${missing.length ? ` (skipped: ${missing.join(' and ')} not found)` : ''}`, () => {
  const output = runCoreTest('arm64');
  // The binaries really are arm64 ones: ELF e_machine 183 (EM_AARCH64), little-endian, at byte 18.
  const machine = (file: string) => {
    const elf = fs.readFileSync(path.join(root, 'build-core', file));
    return [file, elf.subarray(0, 4).toString('latin1'), elf.readUInt16LE(18)];
  };
  expect(machine('core_test-arm64')).toEqual(['core_test-arm64', '\x7fELF', 183]);
  // No AVX-512 there: the sparse tiles take the eight-float shape.
  expect(output).toMatch(/core_test: gemm fallback, 8 floats per sparse tile vector/);
  // The whole addon (N-API bindings too) compiles for arm64 where Node's headers are installed.
  if (fs.existsSync('/usr/include/node/node_api.h')) {
    expect(output).toMatch(/== the addon compiled for aarch64/);
    expect(machine('fcnet-arm64.node')).toEqual(['fcnet-arm64.node', '\x7fELF', 183]);
  }
});

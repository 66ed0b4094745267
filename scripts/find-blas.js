#!/usr/bin/env node
// Finds a CBLAS for binding.gyp. Prints, for the part asked (defines | cflags | libs), what gyp needs,
// and says once on stderr which GEMM the addon is built with.
// FCNET_BLAS=none forces the built-in blocked GEMM (to test the fallback on a machine that has OpenBLAS).
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');

function pkgConfig(args) {
  try {
    return execFileSync('pkg-config', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function findOpenBlas() {
  if (process.env.FCNET_BLAS === 'none') return null;
  const cflags = pkgConfig(['--cflags', 'openblas']);
  const libs = pkgConfig(['--libs', 'openblas']);
  if (cflags !== null && libs !== null) return { cflags, libs, how: 'pkg-config openblas' };
  // No pkg-config file: look for the header and the library where distributions put them.
  const includeDirs = ['/usr/include/x86_64-linux-gnu/openblas-pthread', '/usr/include/openblas', '/usr/local/include', '/usr/include'];
  const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/local/lib', '/usr/lib'];
  const header = includeDirs.find((d) => fs.existsSync(`${d}/cblas.h`));
  const lib = libDirs.find((d) => fs.existsSync(`${d}/libopenblas.so`));
  if (header && lib) return { cflags: `-I${header}`, libs: `-L${lib} -lopenblas`, how: `${header}/cblas.h and ${lib}/libopenblas.so` };
  return null;
}

const blas = findOpenBlas();
const part = process.argv[2];
if (part === 'defines') {
  console.log(blas ? 'FCNET_USE_CBLAS=1' : 'FCNET_USE_CBLAS=0');
  process.stderr.write(blas
    ? `fcnet: building with OpenBLAS (found by ${blas.how})\n`
    : 'fcnet: no OpenBLAS found (apt-get install libopenblas-dev): building the blocked fallback GEMM, slower\n');
} else if (part === 'cflags') {
  console.log(blas ? blas.cflags : '');
} else if (part === 'libs') {
  console.log(blas ? blas.libs : '');
} else {
  console.error('usage: find-blas.js defines|cflags|libs');
  process.exit(2);
}

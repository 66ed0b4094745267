#!/usr/bin/env node
// Finds a CBLAS for binding.gyp. Prints, for the part asked (defines | cflags | libs), what gyp needs,
// and says once on stderr which GEMM the addon is built with.
// FCNET_BLAS=none forces the built-in blocked GEMM (to test the fallback on a machine that has OpenBLAS).
// FCNET_BLAS=static links OpenBLAS's own archive into the addon (what `npm run build:prebuild` ships): the binary then
// needs no libopenblas.so.0 on the machine that installs it. Its symbols are kept private to the addon.
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

// Where distributions put OpenBLAS when there is no pkg-config file.
const INCLUDE_DIRS = ['/usr/include/x86_64-linux-gnu/openblas-pthread', '/usr/include/openblas', '/usr/local/include', '/usr/include'];
const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu/openblas-pthread', '/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/local/lib', '/usr/lib'];

function headerFlags() {
  const header = INCLUDE_DIRS.find((d) => fs.existsSync(`${d}/cblas.h`));
  return header ? `-I${header}` : null;
}

/** OpenBLAS's static archive; Debian's is built with -fPIC and DYNAMIC_ARCH, so it suits a portable addon. */
function findStaticOpenBlas() {
  const libdir = pkgConfig(['--variable=libdir', 'openblas']);
  const dirs = libdir ? [libdir, ...LIB_DIRS] : LIB_DIRS;
  const archive = dirs.map((d) => `${d.replace(/\/$/, '')}/libopenblas.a`).find((f) => fs.existsSync(f));
  return archive ? fs.realpathSync(archive) : null;
}

function findOpenBlas() {
  if (process.env.FCNET_BLAS === 'none') return null;
  if (process.env.FCNET_BLAS === 'static') {
    const cflags = pkgConfig(['--cflags', 'openblas']) ?? headerFlags();
    const archive = findStaticOpenBlas();
    if (!archive || cflags === null) {
      // A prebuild that silently fell back to needing libopenblas.so.0 would fail only on users' machines.
      console.error('fcnet: FCNET_BLAS=static but no libopenblas.a and cblas.h found (apt-get install libopenblas-dev), or build with FCNET_BLAS=none');
      process.exit(1);
    }
    return { cflags, libs: `${archive} -lpthread -lm -Wl,--exclude-libs,ALL`, how: `static ${archive}` };
  }
  const cflags = pkgConfig(['--cflags', 'openblas']);
  const libs = pkgConfig(['--libs', 'openblas']);
  if (cflags !== null && libs !== null) return { cflags, libs, how: 'pkg-config openblas' };
  // No pkg-config file: look for the header and the library where distributions put them.
  const header = headerFlags();
  const lib = LIB_DIRS.slice(1).find((d) => fs.existsSync(`${d}/libopenblas.so`));
  if (header && lib) return { cflags: header, libs: `-L${lib} -lopenblas`, how: `${header.slice(2)}/cblas.h and ${lib}/libopenblas.so` };
  return null;
}

/** The one line the build prints about its GEMM. */
function buildNote(blas) {
  if (blas) return `building with OpenBLAS (found by ${blas.how})`;
  const why = process.env.FCNET_BLAS === 'none' ? 'OpenBLAS disabled by FCNET_BLAS=none' : 'no OpenBLAS found (apt-get install libopenblas-dev)';
  return `${why}: building the blocked fallback GEMM, slower`;
}

const blas = findOpenBlas();
const part = process.argv[2];
if (part === 'defines') {
  console.log(blas ? 'FCNET_USE_CBLAS=1' : 'FCNET_USE_CBLAS=0');
  process.stderr.write(`fcnet: ${buildNote(blas)}\n`);
} else if (part === 'cflags') {
  console.log(blas ? blas.cflags : '');
} else if (part === 'libs') {
  console.log(blas ? blas.libs : '');
} else {
  console.error('usage: find-blas.js defines|cflags|libs');
  process.exit(2);
}

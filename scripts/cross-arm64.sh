#!/usr/bin/env bash
# Builds the engine's core (native/, no N-API, the built-in fallback GEMM) with native/test/core_test.cc and runs it:
# on this machine, and cross-compiled for linux-arm64 under qemu-user, which checks that the portable C++ path (no
# x86 intrinsics, no target_clones) builds and computes the same numbers on a CPU that is not x86.
#   scripts/cross-arm64.sh          both: x86-64 (here) and arm64 (needs aarch64-linux-gnu-g++ and qemu-aarch64)
#   scripts/cross-arm64.sh native   only the build for this machine
#   scripts/cross-arm64.sh arm64    only the arm64 build under qemu, and the whole addon compiled for arm64
# Debian: apt-get install g++-aarch64-linux-gnu qemu-user. Outputs go to build-core/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}

# The engine's sources: what binding.gyp compiles, less the N-API bindings and the old trainer.
sources=(native/network.cc native/linear_tiles.cc native/thin_linear.cc native/sparse_tiles.cc native/column_groups.cc native/optimizer_loops.cc
         native/losses.cc native/thread_team.cc native/gemm.cc native/test/core_test.cc)
# binding.gyp's flags; FCNET_USE_CBLAS unset, so gemm.cc takes its fallback.
flags=(-std=c++17 -O3 -fno-math-errno -Wall -Wno-psabi -pthread)
mkdir -p build-core

if [ "$which" = both ] || [ "$which" = native ]; then
  "${CXX:-g++}" "${flags[@]}" "${sources[@]}" -o build-core/core_test
  echo "== $(uname -m), native"
  build-core/core_test
fi

if [ "$which" = both ] || [ "$which" = arm64 ]; then
  for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
    command -v "$tool" >/dev/null || { echo "cross-arm64: $tool not found (apt-get install g++-aarch64-linux-gnu qemu-user)" >&2; exit 3; }
  done
  # -static: qemu-user then needs no arm64 sysroot at run time.
  aarch64-linux-gnu-g++ "${flags[@]}" -static "${sources[@]}" -o build-core/core_test-arm64
  echo "== aarch64 under $(qemu-aarch64 --version | head -1)"
  qemu-aarch64 build-core/core_test-arm64
  # The whole addon, N-API bindings included, compiles and links for arm64 too (binding.gyp's sources; Node's
  # headers from /usr/include/node). It cannot be loaded here: that needs an arm64 Node.
  node_headers=${NODE_HEADERS:-/usr/include/node}
  if [ -f "$node_headers/node_api.h" ]; then
    mapfile -t addon < <(node -p 'JSON.parse(require("fs").readFileSync("binding.gyp", "utf8")).targets[0].sources.join("\n")')
    aarch64-linux-gnu-g++ "${flags[@]}" -fPIC -shared -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -I"$node_headers" \
      -I"$(node -p 'require("node-addon-api").include_dir')" "${addon[@]}" -o build-core/fcnet-arm64.node
    echo "== the addon compiled for aarch64: build-core/fcnet-arm64.node"
  else
    echo "== the addon was not compiled for aarch64: no node_api.h in $node_headers (set NODE_HEADERS)"
  fi
fi

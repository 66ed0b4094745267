#!/usr/bin/env bash
# Builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer into build-asan/ (build/Release is never
# touched) and runs the native tests against that binary: the boundary tests, the boundary fuzzer, the backend
# suite, the training tests, the worker threads, the shared-memory race and worker.terminate() during native calls.
# Any out-of-bounds access, use after free or undefined behaviour stops the run (timing tests are skipped:
# FCNET_SANITIZED).
#   scripts/sanitize.sh                 build and run the default tests
#   scripts/sanitize.sh test/x.test.ts  build and run those tests instead
# FCNET_FUZZ_CALLS (default 10000, as unsanitized) sets the fuzzer's calls per function.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

out=build-asan
mkdir -p "$out"
# binding.gyp, seen from build-asan/: sources and scripts one folder up, and the sanitizer flags. -O1 -g for stack
# traces that name lines; the sanitizers' runtime checks are the same at any optimisation level.
node -e '
  const fs = require("fs");
  const gyp = JSON.parse(fs.readFileSync("binding.gyp", "utf8"));
  const up = (s) => s.replace(/node scripts\//g, "node ../scripts/");
  const sanitize = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-g"];
  for (const t of gyp.targets) {
    t.sources = t.sources.map((s) => "../" + s);
    t.defines = t.defines.map(up);
    t.libraries = t.libraries.map(up);
    t.cflags_cc = t.cflags_cc.map((f) => (f === "-O3" ? "-O1" : up(f))).concat(sanitize);
    t.cflags = (t.cflags || []).concat(sanitize);
    t.ldflags = (t.ldflags || []).concat(["-fsanitize=address,undefined"]);
  }
  fs.writeFileSync(process.argv[1] + "/binding.gyp", JSON.stringify(gyp, null, 2) + "\n");
' "$out"
npx node-gyp rebuild --directory "$out" >"$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
addon="$PWD/$out/build/Release/fcnet.node"
built=$(date +%s)
echo "sanitize: built $addon in $((built - started)) s"

# The sanitized addon loads into an unsanitized node, so the ASan runtime must come first (LD_PRELOAD). Node itself
# leaks by design at exit: no leak report. UBSan: stop at the first finding, with a stack. ASan's operator new ends the
# process where a plain build throws std::bad_alloc, so FCNET_SANITIZED tells the tests to skip the allocation that fails.
libasan=$(gcc -print-file-name=libasan.so)
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(test/native-binding.test.ts test/fuzz-native.test.ts test/backends.test.ts test/training.test.ts test/workers.test.ts test/shared-memory-race.test.ts test/worker-terminate.test.ts test/layers.test.ts test/model-resources.test.ts test/native-network.test.ts test/optimizers.test.ts)
status=0
LD_PRELOAD="$libasan" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allow_user_segv_handler=1" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
  FCNET_ADDON_PATH="$addon" FCNET_SANITIZED=1 \
  FCNET_FUZZ_CALLS="${FCNET_FUZZ_CALLS:-10000}" \
  npx jest --runInBand "${tests[@]}" || status=$?
echo "sanitize: ${tests[*]} against the ASan+UBSan build: $([ $status -eq 0 ] && echo passed || echo FAILED) in $(($(date +%s) - built)) s (total $(($(date +%s) - started)) s)"
exit $status

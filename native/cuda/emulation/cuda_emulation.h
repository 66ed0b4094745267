// A CPU stand-in for the part of CUDA that fcnet's kernels and engine use, so that the same sources build
// with g++ and run, slowly, where there is no GPU. Each CUDA thread of a block is a coroutine; __syncthreads
// and warp shuffles are barriers between them (a barrier some threads never reach is reported, not hung);
// device memory is host memory filled with NaN bytes when allocated (so relying on unset memory shows);
// streams run their work at once, and capture records it into a graph that cudaGraphLaunch replays.
// It checks index math, bounds (under AddressSanitizer) and the order of launches, not speed or races.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __grid_constant__
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define DYNAMIC_SHARED_FLOATS(name) float* name = ::emu::dynamic_shared_floats()

struct uint3 {
  unsigned int x, y, z;
};

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
};

struct alignas(8) float2 {
  float x, y;
};

struct alignas(16) float4 {
  float x, y, z, w;
};

inline uint3 threadIdx;
inline uint3 blockIdx;
inline dim3 blockDim;
inline dim3 gridDim;

enum cudaError_t : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInsufficientDriver = 35,
  cudaErrorCallRequiresNewerDriver = 36,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorNoDevice = 100,
  cudaErrorNoKernelImageForDevice = 209,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchFailure = 719,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorUnknown = 999,
};

enum cudaMemcpyKind : int {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaStreamCaptureMode : int {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};

enum cudaDeviceAttr : int { cudaDevAttrMultiProcessorCount = 16 };

constexpr unsigned int cudaStreamNonBlocking = 1;

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  int major;
  int minor;
  int multiProcessorCount;
};

struct cudaFuncAttributes {
  int maxThreadsPerBlock;
};

namespace emu {

struct Stream {
  bool capturing = false;
  std::vector<std::function<void()>> recorded;
};

struct Graph {
  std::vector<std::function<void()>> steps;
};

/** Runs `body` once for every thread of every block of the grid, threads of a block as coroutines. */
void run_grid(const std::function<void()>& body, dim3 grid, dim3 block, size_t shared_bytes);

/** Runs `work` now, or records it when the stream is capturing. */
void submit(Stream* stream, std::function<void()> work);

void sync_block();
void sync_warp();
uint64_t* exchange_slots();
float* dynamic_shared_floats();

template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, Stream* stream, Args&&... args) {
  std::tuple<std::decay_t<Params>...> packed(static_cast<std::decay_t<Params>>(std::forward<Args>(args))...);
  submit(stream, [kernel, grid, block, shared_bytes, packed]() {
    run_grid([&]() { std::apply(kernel, packed); }, grid, block, shared_bytes);
  });
}

}  // namespace emu

using cudaStream_t = emu::Stream*;
using cudaGraph_t = emu::Graph*;
using cudaGraphExec_t = emu::Graph*;

inline void __syncthreads() { emu::sync_block(); }

/** Lane (lane ^ lane_mask)'s value, all 32 lanes of the warp taking part (the only use fcnet makes of it). */
template <typename T>
T __shfl_xor_sync(unsigned int /*mask*/, T value, int lane_mask) {
  static_assert(sizeof(T) <= sizeof(uint64_t), "shuffled values fit a slot");
  uint64_t* slots = emu::exchange_slots();
  const unsigned int tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  std::memcpy(&slots[tid], &value, sizeof(T));
  emu::sync_warp();
  T other;
  std::memcpy(&other, &slots[(tid & ~31u) | ((tid & 31u) ^ static_cast<unsigned int>(lane_mask))], sizeof(T));
  emu::sync_warp();
  return other;
}

inline int atomicAdd(int* address, int value) {
  const int old = *address;
  *address = old + value;
  return old;
}

inline float atomicAdd(float* address, float value) {
  const float old = *address;
  *address = old + value;
  return old;
}

inline double atomicAdd(double* address, double value) {
  const double old = *address;
  *address = old + value;
  return old;
}

const char* cudaGetErrorName(cudaError_t code);
const char* cudaGetErrorString(cudaError_t code);
cudaError_t cudaGetLastError();
cudaError_t cudaRuntimeGetVersion(int* version);
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaMalloc(void** pointer, size_t bytes);
cudaError_t cudaFree(void* pointer);
cudaError_t cudaMallocHost(void** pointer, size_t bytes);
cudaError_t cudaFreeHost(void* pointer);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);

template <typename Kernel>
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attributes, Kernel* /*kernel*/) {
  attributes->maxThreadsPerBlock = 1024;
  return cudaSuccess;
}

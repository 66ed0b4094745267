// Kernel launches go through launch_kernel so that a bad launch (too much shared memory, a grid too large)
// is caught at once and named, and so that the CPU emulation can run the same call.
#pragma once

#include <utility>

#include "cuda_check.h"

template <typename... Params, typename... Args>
inline void launch_kernel(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
                          cudaStream_t stream, Args&&... args) {
#ifdef FCNET_CUDA_EMULATION
  (void)name;
  emu::launch(kernel, grid, block, shared_bytes, stream, static_cast<Params>(std::forward<Args>(args))...);
#else
  kernel<<<grid, block, shared_bytes, stream>>>(static_cast<Params>(std::forward<Args>(args))...);
  const cudaError_t code = cudaGetLastError();
  if (code != cudaSuccess) throw_cuda_error(code, name, __FILE__, __LINE__);
#endif
}

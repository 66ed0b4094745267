#include "cuda_check.h"

#include <cstring>

void throw_cuda_error(cudaError_t code, const char* call, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  std::string message = std::string("CUDA error ") + cudaGetErrorName(code) + " (" + cudaGetErrorString(code) +
                        ") in " + call + " at " + (base != nullptr ? base + 1 : file) + ":" + std::to_string(line);
  if (code == cudaErrorMemoryAllocation) {
    message += "; the GPU is out of memory: use a smaller maxBatch or free other GPU work";
  } else if (code == cudaErrorIllegalAddress || code == cudaErrorLaunchFailure) {
    message += "; the CUDA context is now unusable: restart the process";
  }
  cudaGetLastError();  // clear a non-sticky error so that the next call starts clean
  throw CudaError(code, message);
}

// Every CUDA call is checked; a failure becomes a C++ exception that the binding turns into a JS Error
// carrying CUDA's own words. Library code never aborts or exits.
#pragma once

#include <stdexcept>
#include <string>

#include "device_compat.cuh"

/** A failed CUDA call: what failed, where, and CUDA's name and description of the error. */
class CudaError : public std::runtime_error {
 public:
  CudaError(cudaError_t code, const std::string& message) : std::runtime_error(message), code_(code) {}
  cudaError_t code() const { return code_; }

 private:
  cudaError_t code_;
};

[[noreturn]] void throw_cuda_error(cudaError_t code, const char* call, const char* file, int line);

#define CUDA_CHECK(call)                                                        \
  do {                                                                          \
    const cudaError_t cuda_check_code_ = (call);                                \
    if (cuda_check_code_ != cudaSuccess) {                                      \
      throw_cuda_error(cuda_check_code_, #call, __FILE__, __LINE__);            \
    }                                                                           \
  } while (0)

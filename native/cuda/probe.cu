// Whether the CUDA backend can run here, and if not, why and what to do, in words for the user.
#include <string>

#include "cuda_check.h"
#include "engine.h"
#include "launch.cuh"

#ifndef FCNET_CUDA_TARGETS
#define FCNET_CUDA_TARGETS "other GPUs"
#endif

namespace {

__global__ void probe_kernel(int* out) { *out = 42; }

std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

std::string cuda_words(cudaError_t code) {
  return std::string(cudaGetErrorName(code)) + ": " + cudaGetErrorString(code);
}

/** Runs one tiny kernel on the device and reads its answer back. */
cudaError_t run_probe_kernel() {
  int* answer = nullptr;
  cudaError_t code = cudaMalloc(reinterpret_cast<void**>(&answer), sizeof(int));
  if (code != cudaSuccess) return code;
  int host = 0;
#ifdef FCNET_CUDA_EMULATION
  emu::launch(probe_kernel, dim3(1), dim3(1), 0, nullptr, answer);
#else
  probe_kernel<<<1, 1>>>(answer);
#endif
  code = cudaGetLastError();
  if (code == cudaSuccess) code = cudaMemcpy(&host, answer, sizeof(int), cudaMemcpyDeviceToHost);
  cudaFree(answer);
  if (code == cudaSuccess && host != 42) code = cudaErrorUnknown;
  return code;
}

}  // namespace

CudaProbe cuda_probe() {
  CudaProbe probe;
#ifdef FCNET_CUDA_EMULATION
  probe.emulated = true;
#endif
  cudaRuntimeGetVersion(&probe.runtime_version);
  cudaDriverGetVersion(&probe.driver_version);
  int count = 0;
  const cudaError_t counted = cudaGetDeviceCount(&count);
  if (counted == cudaErrorInsufficientDriver || counted == cudaErrorCallRequiresNewerDriver) {
    if (probe.driver_version == 0) {
      probe.status = "no-driver";
      probe.message = "no NVIDIA driver was found (" + cuda_words(counted) +
                      "): install the NVIDIA driver, or use backend 'cpu'";
    } else {
      probe.status = "driver-too-old";
      probe.message = "the NVIDIA driver supports CUDA " + version_text(probe.driver_version) +
                      " but the addon was built with CUDA " + version_text(probe.runtime_version) +
                      ": update the NVIDIA driver, or rebuild with `npm run build:cuda` using an older CUDA toolkit";
    }
    cudaGetLastError();
    return probe;
  }
  if (counted == cudaErrorNoDevice || (counted == cudaSuccess && count == 0)) {
    probe.status = "no-device";
    probe.message = std::string("no CUDA device is visible (") +
                    (counted == cudaSuccess ? "cudaGetDeviceCount found 0" : cuda_words(counted)) +
                    "): check `nvidia-smi` and CUDA_VISIBLE_DEVICES, or use backend 'cpu'";
    cudaGetLastError();
    return probe;
  }
  if (counted != cudaSuccess) {
    probe.status = "error";
    probe.message = "CUDA could not start (" + cuda_words(counted) + "): check `nvidia-smi`, or use backend 'cpu'";
    cudaGetLastError();
    return probe;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
    probe.device = prop.name;
    probe.major = prop.major;
    probe.minor = prop.minor;
    probe.memory_bytes = prop.totalGlobalMem;
    probe.multiprocessors = prop.multiProcessorCount;
  }
  const std::string capability = std::to_string(probe.major) + "." + std::to_string(probe.minor);
  cudaFuncAttributes attributes{};
  const cudaError_t image = cudaFuncGetAttributes(&attributes, probe_kernel);
  if (image != cudaSuccess) {
    probe.status = "unsupported-device";
    probe.message = probe.device + " has compute capability " + capability +
                    " but the addon holds code for " FCNET_CUDA_TARGETS " only (" + cuda_words(image) +
                    "): rebuild with CMAKE_CUDA_ARCHITECTURES set for it, or use backend 'cpu'";
    cudaGetLastError();
    return probe;
  }
  const cudaError_t ran = run_probe_kernel();
  if (ran != cudaSuccess) {
    probe.status = "error";
    probe.message = probe.device + " did not run a test kernel (" + cuda_words(ran) +
                    "): check `nvidia-smi`, or use backend 'cpu'";
    cudaGetLastError();
    return probe;
  }
  probe.available = true;
  probe.status = "ok";
  probe.message = probe.device + " (compute capability " + capability + ", " +
                  std::to_string(probe.memory_bytes >> 20) + " MiB, " + std::to_string(probe.multiprocessors) +
                  " SMs), driver CUDA " + version_text(probe.driver_version) + ", addon CUDA " +
                  version_text(probe.runtime_version) + (probe.emulated ? ", CPU emulation" : "");
  return probe;
}

#include "adam.cuh"

#include <algorithm>

#include "launch.cuh"

namespace {

__global__ void adam_kernel(float* params, float* m, float* v, const float* grads, size_t n, AdamScalars s) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    float p = params[i], mi = m[i], vi = v[i];
    adam_update_one(p, mi, vi, grads[i], s);
    params[i] = p;
    m[i] = mi;
    v[i] = vi;
  }
}

}  // namespace

void adam_update(float* params, float* m, float* v, const float* grads, size_t n, const AdamScalars& scalars,
                 int multiprocessors, cudaStream_t stream) {
  if (n == 0) return;
  constexpr int kThreads = 256;
  const size_t wanted = (n + kThreads - 1) / kThreads;
  const int blocks = static_cast<int>(std::min<size_t>(wanted, static_cast<size_t>(multiprocessors) * 8));
  launch_kernel("adam_kernel", adam_kernel, dim3(blocks), dim3(kThreads), 0, stream, params, m, v, grads, n, scalars);
}

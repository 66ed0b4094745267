#include "batch.cuh"

#include <algorithm>

#include "launch.cuh"

namespace {

__global__ void batch_prepare_kernel(int* rows, int* labels, StepState* state, const int* indices, int offset, int B,
                                     const int* dataset_labels, AdamScalars adam) {
  const int stride = static_cast<int>(gridDim.x * blockDim.x);
  for (int b = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); b < B; b += stride) {
    const int row = indices != nullptr ? indices[offset + b] : offset + b;
    rows[b] = row;
    labels[b] = dataset_labels[row];
  }
  if (state != nullptr && blockIdx.x == 0 && threadIdx.x == 0) {
    state->adam = adam;
    state->loss_not_finite = 0;
  }
}

}  // namespace

void batch_prepare(int* rows, int* labels, StepState* state, const int* indices, int offset, int B,
                   const int* dataset_labels, const AdamScalars& adam, cudaStream_t stream) {
  constexpr int kThreads = 256;
  const int blocks = std::max(1, std::min((B + kThreads - 1) / kThreads, 64));
  launch_kernel("batch_prepare_kernel", batch_prepare_kernel, dim3(blocks), dim3(kThreads), 0, stream, rows, labels,
                state, indices, offset, B, dataset_labels, adam);
}

// The reference product: one thread an output, a plain loop over K, no shared memory, the same epilogues.
// Nothing trains with it; the tests run the engine with it (FCNET_CUDA_TILE=3) and hold the tiled kernel to it.
#pragma once

#include "gemm.cuh"

constexpr int kGemmNaiveThreads = 256;

/** A problem's blocks: each covers kGemmNaiveThreads consecutive outputs of its row-major (M, N). */
__global__ void __launch_bounds__(kGemmNaiveThreads) gemm_naive_kernel(const __grid_constant__ GemmGroup group) {
  int which = 0;
  while (which + 1 < group.count && static_cast<int>(blockIdx.x) >= group.problems[which + 1].first_tile) ++which;
  const GemmProblem& p = group.problems[which];
  const long long output =
      static_cast<long long>(static_cast<int>(blockIdx.x) - p.first_tile) * kGemmNaiveThreads + threadIdx.x;
  if (output >= static_cast<long long>(p.M) * p.N) return;
  const int m = static_cast<int>(output / p.N);
  const int n = static_cast<int>(output % p.N);
  float sum = 0.0f;
  for (int k = 0; k < p.K; ++k) sum = fmaf(p.a.at(m, k), p.b.at(k, n), sum);
  const bool adam = gemm_applies_adam(p);
  gemm_finish_output(p, m, n, sum, adam);
  if (p.epilogue == kEpilogueWeightGradient && p.bias_grad != nullptr && n == 0) gemm_finish_bias_gradient(p, m, adam);
}

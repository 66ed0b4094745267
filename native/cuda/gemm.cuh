// A matrix product as the layers need it: C(M,N) = A(M,K) · B(K,N), then an epilogue that finishes the
// layer's work on each sum while it is still in a register (bias and ReLU, the ReLU's backward mask, or a
// weight gradient with its bias gradient and Adam's update). Two kernels compute it: the tiled one that
// training uses (gemm_tiled.cuh) and a naive one kept as its reference (gemm_naive.cuh).
#pragma once

#include <cstddef>

#include "../activations.h"  // the CPU core's activation pair, so the ReLU cannot drift from cpu and js
#include "adam_math.h"
#include "device_compat.cuh"
#include "matrix_view.cuh"

/** What a product's epilogue does with each finished sum. */
enum GemmEpilogue : int {
  kEpilogueBiasActivation = 0,  // c = sum + bias[n], then ReLU when `relu`         (linear forward)
  kEpilogueReluMask = 1,        // c = mask <= 0 ? 0 : sum, mask laid out like c   (input gradient through a ReLU)
  kEpilogueWeightGradient = 2,  // c = sum; bias_grad[m] = Σ_k A(m,k); Adam when adam != nullptr
};

struct GemmProblem {
  int M, N, K;
  MatrixView a;  // (M, K)
  MatrixView b;  // (K, N)
  float* c;      // (M, N), row stride ldc
  int ldc;
  int epilogue;  // GemmEpilogue
  const float* bias;  // (N)                 bias-activation
  int relu;           //                     bias-activation
  const float* mask;  // (M, N) like c       relu-mask: the ReLU's output
  float* bias_grad;   // (M)                 weight-gradient: Σ over K of A's row, or nullptr
  // Adam on the weight (laid out like c) and its bias (like bias_grad), after the gradient is stored.
  float* w_param;
  float* w_m;
  float* w_v;
  float* b_param;
  float* b_m;
  float* b_v;
  const AdamScalars* adam;  // device scalars of this step, or nullptr: gradients only
  const int* skip_adam;     // device flag: when non-zero Adam leaves everything as it was (a NaN batch); or nullptr
  int first_tile;           // this problem's first block in the group's grid
  int tiles_n;              // tiles along N (tiled kernel)
};

constexpr int kMaxGemmGroup = 8;

// Passed by value as a kernel parameter (__grid_constant__: read in place, never copied per thread).
struct GemmGroup {
  int count;
  GemmProblem problems[kMaxGemmGroup];
};

/** Whether this launch's epilogue applies Adam: asked for, and the step's loss was finite. */
__device__ __forceinline__ bool gemm_applies_adam(const GemmProblem& p) {
  return p.adam != nullptr && (p.skip_adam == nullptr || *p.skip_adam == 0);
}

/** The epilogue of output (m, n) whose sum over K is `sum`. */
__device__ __forceinline__ void gemm_finish_output(const GemmProblem& p, int m, int n, float sum, bool adam) {
  const size_t at = static_cast<size_t>(m) * p.ldc + n;
  if (p.epilogue == kEpilogueBiasActivation) {
    if (p.bias != nullptr) sum += p.bias[n];
    if (p.relu) sum = fcnet::relu_activate(sum);  // x < 0 ? 0 : x: a NaN passes, as in torch and on cpu and js
    p.c[at] = sum;
  } else if (p.epilogue == kEpilogueReluMask) {
    p.c[at] = fcnet::relu_gradient(p.mask[at]) == 0.0f ? 0.0f : sum;  // y <= 0 ? 0 : grad: a NaN y passes it
  } else {
    p.c[at] = sum;
    if (adam) adam_update_one(p.w_param[at], p.w_m[at], p.w_v[at], sum, *p.adam);
  }
}

/**
 * The bias gradient of row m for a weight-gradient product: the row sum of A (the output gradient,
 * transposed), then Adam on the bias. Nothing in such a launch reads parameters, so Adam may write them.
 */
__device__ __forceinline__ void gemm_finish_bias_gradient(const GemmProblem& p, int m, bool adam) {
  float sum = 0.0f;
  for (int k = 0; k < p.K; ++k) sum += p.a.at(m, k);
  p.bias_grad[m] = sum;
  if (adam) adam_update_one(p.b_param[m], p.b_m[m], p.b_v[m], sum, *p.adam);
}

#include "output_layer.cuh"

#include <cmath>

#include "../activations.h"
#include "launch.cuh"

namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr size_t kSharedLimit = 48 * 1024;  // the default per-block limit, no opt-in needed

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Shared memory: the row's logits (then its dlogits), and the row of x when it fits.
__global__ void __launch_bounds__(kThreads) output_layer_kernel(OutputLayerArgs a, int cache_x) {
  DYNAMIC_SHARED_FLOATS(shared);
  float* row_logits = shared;    // (C)
  float* row_x = shared + a.C;   // (I) when cache_x
  const int row = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid & 31;
  const int warp = tid >> 5;

  if (cache_x) {
    for (int i = tid; i < a.I; i += kThreads) row_x[i] = a.x.at(row, i);
    __syncthreads();
  }
  auto x_at = [&](int i) { return cache_x ? row_x[i] : a.x.at(row, i); };

  // Logits: a warp a class, lanes striding along I.
  for (int c = warp; c < a.C; c += kWarps) {
    const float* w_row = a.w + static_cast<size_t>(c) * a.I;
    float s = 0.0f;
    for (int i = lane; i < a.I; i += 32) s = fmaf(x_at(i), w_row[i], s);
    s = warp_sum(s);
    if (lane == 0) {
      const float logit = s + a.b[c];
      row_logits[c] = logit;
      a.logits[static_cast<size_t>(row) * a.C + c] = logit;
    }
  }
  __syncthreads();

  // Loss, argmax and dlogits: one warp, lanes striding along C.
  if (a.labels != nullptr && warp == 0) {
    const int y = a.labels[row];
    const float logit_y = row_logits[y];  // read before any lane overwrites it with a gradient
    float best = -INFINITY;
    int best_class = a.C;
    float largest = -INFINITY;
    for (int c = lane; c < a.C; c += 32) {
      const float v = row_logits[c];
      largest = fmaxf(largest, v);
      if (v > best || best_class == a.C) {
        best = v;
        best_class = c;
      }
    }
    largest = warp_max(largest);
    float sum_exp = 0.0f;
    for (int c = lane; c < a.C; c += 32) sum_exp += expf(row_logits[c] - largest);
    sum_exp = warp_sum(sum_exp);
    // The first largest logit: ties go to the smaller class, as torch.max does.
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
      const float other = __shfl_xor_sync(0xffffffffu, best, offset);
      const int other_class = __shfl_xor_sync(0xffffffffu, best_class, offset);
      if (other > best || (other == best && other_class < best_class) || best_class == a.C) {
        if (other_class != a.C) {
          best = other;
          best_class = other_class;
        }
      }
    }
    const float loss = logf(sum_exp) + largest - logit_y;  // -log softmax(logits)[y]
    if (lane == 0) {
      if (a.row_loss != nullptr) a.row_loss[row] = loss;
      if (a.loss_sum != nullptr) atomicAdd(a.loss_sum, static_cast<double>(loss));
      if (a.correct != nullptr && best_class == y) atomicAdd(a.correct, 1);
      // NaN or ±infinity fail "< INFINITY"; every writer writes the same 1.
      if (a.loss_not_finite != nullptr && !(fabsf(loss) < INFINITY)) *a.loss_not_finite = 1;
    }
    if (a.dlogits != nullptr) {
      const float inv_batch = 1.0f / static_cast<float>(a.B);
      for (int c = lane; c < a.C; c += 32) {
        const float softmax = expf(row_logits[c] - largest) / sum_exp;
        const float d = (softmax - (c == y ? 1.0f : 0.0f)) * inv_batch;
        a.dlogits[static_cast<size_t>(row) * a.C + c] = d;
        row_logits[c] = d;
      }
    }
  }

  // Input gradient through the ReLU: dx = dlogits · w except where x <= 0. Threads stride along I, so w is read
  // along its rows (coalesced) once per class.
  if (a.dx != nullptr) {
    __syncthreads();
    for (int i = tid; i < a.I; i += kThreads) {
      float s = 0.0f;
      if (fcnet::relu_gradient(x_at(i)) != 0.0f) {  // y <= 0: no gradient; a NaN y passes it, as torch's
        for (int c = 0; c < a.C; ++c) s = fmaf(row_logits[c], a.w[static_cast<size_t>(c) * a.I + i], s);
      }
      a.dx[static_cast<size_t>(row) * a.I + i] = s;
    }
  }
}

}  // namespace

void output_layer_forward_backward(const OutputLayerArgs& args, cudaStream_t stream) {
  const size_t logits_bytes = sizeof(float) * static_cast<size_t>(args.C);
  const size_t x_bytes = sizeof(float) * static_cast<size_t>(args.I);
  const int cache_x = logits_bytes + x_bytes <= kSharedLimit ? 1 : 0;
  const size_t shared_bytes = logits_bytes + (cache_x ? x_bytes : 0);
  launch_kernel("output_layer_kernel", output_layer_kernel, dim3(args.B), dim3(kThreads), shared_bytes, stream, args,
                cache_x);
}

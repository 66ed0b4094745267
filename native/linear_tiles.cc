#include "linear_tiles.h"

#include <algorithm>
#include <cstddef>

#include "dropout_mask.h"
#include "gemm.h"
#include "simd.h"

namespace fcnet {
namespace {

// The reference product: C(M,N) = op(A)·op(B), each sum over k in order, no blocking.
void gemm_naive(bool transA, bool transB, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
                float* C, int ldc) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float sum = 0.0f;
      for (int k = 0; k < K; k++) {
        const float a = transA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
        const float b = transB ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
        sum += a * b;
      }
      C[(size_t)i * ldc + j] = sum;
    }
}

void product(bool naive, bool transA, bool transB, int M, int N, int K, const float* A, int lda, const float* B,
             int ldb, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (naive) gemm_naive(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
  else sgemm(transA, transB, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
}

int round_up(int x, int m) { return (x + m - 1) / m * m; }

// The common case, relu without dropout, in one tight loop the compiler vectorises.
FCNET_CLONES
void bias_relu_rows(float* out, int ld, const float* b, int r0, int r1, int c0, int c1) {
  for (int r = r0; r < r1; r++) {
    float* o = out + (size_t)r * ld;
    for (int c = c0; c < c1; c++) {
      const float v = o[c] + b[c];
      o[c] = v < 0.0f ? 0.0f : v;  // a NaN passes, as in PyTorch
    }
  }
}

FCNET_CLONES
void bias_rows(float* out, int ld, const float* b, int r0, int r1, int c0, int c1) {
  for (int r = r0; r < r1; r++) {
    float* o = out + (size_t)r * ld;
    for (int c = c0; c < c1; c++) o[c] += b[c];
  }
}

FCNET_CLONES
void relu_gradient_rows(float* g, int ld, const float* y, int r0, int r1, int c0, int c1) {
  for (int r = r0; r < r1; r++) {
    float* d = g + (size_t)r * ld;
    const float* yr = y + (size_t)r * ld;
    for (int c = c0; c < c1; c++) d[c] = yr[c] <= 0.0f ? 0.0f : d[c];
  }
}

}  // namespace

TilePlan plan_tiles(int M, int N, int K, bool full_rows) {
  TilePlan p{M, N, std::max(M, 1), std::max(N, 1)};
  constexpr long kMinWork = 1L << 16;  // multiply-adds: below this a tile costs more to hand out than to compute
  constexpr int kTarget = 8;
  for (;;) {
    if (p.count() >= kTarget) break;
    const bool can_rows = p.tm > 16, can_cols = !full_rows && p.tn > 64;
    if (!can_rows && !can_cols) break;
    // Halve the longer side of the tile (columns first on ties: each column tile re-reads fewer weights).
    const bool cols = can_cols && (!can_rows || p.tn >= p.tm);
    TilePlan next = p;
    if (cols) next.tn = round_up((p.tn + 1) / 2, 64);
    else next.tm = round_up((p.tm + 1) / 2, 16);
    if ((long)next.tm * next.tn * std::max(K, 1) < kMinWork) break;
    p = next;
  }
  return p;
}

void forward_epilogue_rows(float* out, int ld_out, const ForwardEpilogue& e, int r0, int r1, int c0, int c1) {
  for (int r = r0; r < r1; r++) {
    float* o = out + (size_t)r * ld_out;
    for (int c = c0; c < c1; c++) {
      const float v = e.bias != nullptr ? o[c] + e.bias[c] : o[c];
      if (e.pre != nullptr) e.pre[(size_t)r * ld_out + c] = v;
      const float y = activate(e.activation, v, e.slope);
      o[c] = y;
      if (e.dropout.p != 0.0) {
        uint8_t* m = e.dropout.mask + (size_t)r * e.O + c;
        if (!e.dropout.mask_given)
          *m = dropout_keep(e.dropout.seed, e.dropout.step, e.dropout.layer, (uint32_t)((size_t)r * e.O + c), e.dropout.p);
        e.dropped[(size_t)r * ld_out + c] = *m ? y * e.dropout.scale : 0.0f;
      }
    }
  }
}

void linear_forward_tile(float* out, int ld_out, const float* x, int ld_x, const float* w, int I,
                         const ForwardEpilogue& e, int r0, int r1, int c0, int c1, bool naive) {
  product(naive, false, true, r1 - r0, c1 - c0, I, x + (size_t)r0 * ld_x, ld_x, w + (size_t)c0 * I, I,
          out + (size_t)r0 * ld_out + c0, ld_out);
  if (!e.hidden) {
    bias_rows(out, ld_out, e.bias, r0, r1, c0, c1);
    return;
  }
  if (e.activation == Activation::kRelu && e.pre == nullptr && e.dropout.p == 0.0 && !naive) {
    bias_relu_rows(out, ld_out, e.bias, r0, r1, c0, c1);
    return;
  }
  forward_epilogue_rows(out, ld_out, e, r0, r1, c0, c1);
}

void linear_backward_input_tile(float* dx, int ld_dx, const float* g, int ld_g, const float* w, int O, int I,
                                const BackwardEpilogue& e, int r0, int r1, int c0, int c1, bool naive) {
  product(naive, false, false, r1 - r0, c1 - c0, O, g + (size_t)r0 * ld_g, ld_g, w + c0, I,
          dx + (size_t)r0 * ld_dx + c0, ld_dx);
  if (!e.apply) return;
  if (e.activation == Activation::kRelu && e.mask == nullptr && !naive) {
    relu_gradient_rows(dx, ld_dx, e.x_or_y, r0, r1, c0, c1);
    return;
  }
  for (int r = r0; r < r1; r++) {
    float* d = dx + (size_t)r * ld_dx;
    const float* a = e.x_or_y + (size_t)r * ld_dx;
    for (int c = c0; c < c1; c++) {
      float v = d[c];
      if (e.mask != nullptr) v = e.mask[(size_t)r * e.O + c] ? v * e.scale : 0.0f;
      d[c] = v * activation_gradient(e.activation, a[c], e.slope);
    }
  }
}

void linear_backward_weight_tile(float* dw, float* db, const float* g, int ld_g, const float* x, int ld_x, int B,
                                 int I, int o0, int o1, int c0, int c1, bool naive) {
  product(naive, true, false, o1 - o0, c1 - c0, B, g + o0, ld_g, x + c0, ld_x, dw + (size_t)o0 * I + c0, I);
  if (c0 != 0) return;
  std::fill(db + o0, db + o1, 0.0f);
  for (int b = 0; b < B; b++) {
    const float* gr = g + (size_t)b * ld_g;
    for (int o = o0; o < o1; o++) db[o] += gr[o];
  }
}

}  // namespace fcnet

#include "thin_linear.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "simd.h"
#include "sparse_tiles.h"

namespace fcnet {
namespace {

// Sixteen floats as one value. On a CPU with AVX-512 it is one register; elsewhere the compiler splits it into two
// (AVX2) or four: the same arithmetic lane by lane, so both shapes below give the same bits, and only the blocking
// (how many rows and outputs share a load) differs, to fit the register file.
typedef float v16f __attribute__((vector_size(64)));
constexpr int kLanes = 16;

__attribute__((always_inline)) inline v16f load16(const float* p) {
  v16f x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

__attribute__((always_inline)) inline void store16(float* p, v16f x) { std::memcpy(p, &x, sizeof x); }

// The sixteen lanes' sum in one fixed order, whatever the vectors' width: lane i plus lane i + 8, then of those
// lane i plus lane i + 4, and so on.
typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
__attribute__((always_inline)) inline float sum_lanes(v16f a) {
  const v8f h = __builtin_shufflevector(a, a, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(a, a, 8, 9, 10, 11, 12, 13, 14, 15);
  const v4f q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
  const float e0 = q[0] + q[2], e1 = q[1] + q[3];
  return e0 + e1;
}

// Forward, rows [r, r + R) × outputs [o, o + Q): z = b + Σ_j x·w, the sum as sixteen lane sums over whole vectors
// of sixteen inputs, their sum_lanes, then the inputs past the last whole vector in order. Every x is loaded once
// for Q outputs, every w once for R rows.
template <int R, int Q>
__attribute__((always_inline)) inline void forward_block(float* out, int ld_out, const float* x, int ld_x,
                                                         const float* w, const float* b, int I, int r, int o) {
  v16f acc[R][Q] = {};
  int j = 0;
  for (; j + kLanes <= I; j += kLanes) {
    v16f xv[R];
    for (int i = 0; i < R; i++) xv[i] = load16(x + (size_t)(r + i) * ld_x + j);
    for (int q = 0; q < Q; q++) {
      const v16f wv = load16(w + (size_t)(o + q) * I + j);
      for (int i = 0; i < R; i++) acc[i][q] += xv[i] * wv;
    }
  }
  for (int i = 0; i < R; i++)
    for (int q = 0; q < Q; q++) {
      const float* xr = x + (size_t)(r + i) * ld_x;
      const float* wr = w + (size_t)(o + q) * I;
      float sum = sum_lanes(acc[i][q]);
      for (int t = j; t < I; t++) sum += wr[t] * xr[t];
      out[(size_t)(r + i) * ld_out + o + q] = b[o + q] + sum;
    }
}

// Kernel K<R, Q>::run(args..., r, o) over rows [r0, r1) in blocks of R and outputs [0, O) in blocks of Q; the
// remainders with their sizes fixed at compile time.
template <template <int, int> class K, int R, int N, typename... A>
__attribute__((always_inline)) inline void output_tail(int n, int r, int o, A... a) {
  if constexpr (N > 0) {
    if (n == N) K<R, N>::run(a..., r, o);
    else output_tail<K, R, N - 1>(n, r, o, a...);
  }
}

template <template <int, int> class K, int R, int Q, typename... A>
__attribute__((always_inline)) inline void outputs(int O, int r, A... a) {
  int o = 0;
  for (; o + Q <= O; o += Q) K<R, Q>::run(a..., r, o);
  output_tail<K, R, Q - 1>(O - o, r, o, a...);
}

// (No lambdas here: one that is not inlined is compiled for the baseline CPU, outside the clones.)
template <template <int, int> class K, int R, int Q, typename... A>
__attribute__((always_inline)) inline void rows_by_outputs(int O, int r0, int r1, A... a) {
  int r = r0;
  for (; r + R <= r1; r += R) outputs<K, R, Q>(O, r, a...);
  for (; r < r1; r++) outputs<K, 1, Q>(O, r, a...);
}

template <int R, int Q>
struct Forward {
  __attribute__((always_inline)) static void run(float* out, int ld_out, const float* x, int ld_x, const float* w,
                                                 const float* b, int I, int r, int o) {
    forward_block<R, Q>(out, ld_out, x, ld_x, w, b, I, r, o);
  }
};

// Input gradient, rows [r, r + R) × inputs [j, j + J·16): d = Σ_o g[o]·w[o, ·], o in order, one FMA chain a value (so
// the vectors' width and the blocking leave every bit as it is); then ReLU's mask when relu_only.
template <int R, int J>
__attribute__((always_inline)) inline void input_block(float* dx, int ld_dx, const float* g, int ld_g, const float* w,
                                                       int O, int I, const float* y, bool relu_only, int r, int j) {
  v16f acc[R][J] = {};
  for (int o = 0; o < O; o++) {
    v16f wv[J];
    for (int t = 0; t < J; t++) wv[t] = load16(w + (size_t)o * I + j + kLanes * t);
    for (int i = 0; i < R; i++) {
      const float gv = g[(size_t)(r + i) * ld_g + o];
      for (int t = 0; t < J; t++) acc[i][t] += gv * wv[t];
    }
  }
  const v16f zero = {};
  for (int i = 0; i < R; i++)
    for (int t = 0; t < J; t++) {
      float* d = dx + (size_t)(r + i) * ld_dx + j + kLanes * t;
      store16(d, relu_only ? (load16(y + (size_t)(r + i) * ld_dx + j + kLanes * t) <= zero ? zero : acc[i][t])
                           : acc[i][t]);
    }
}

template <int R, int J>
__attribute__((always_inline)) inline void input_rows(float* dx, int ld_dx, const float* g, int ld_g, const float* w,
                                                      int O, int I, const float* y, bool relu_only, int r) {
  int j = 0;
  for (; j + J * kLanes <= I; j += J * kLanes) input_block<R, J>(dx, ld_dx, g, ld_g, w, O, I, y, relu_only, r, j);
  for (; j + kLanes <= I; j += kLanes) input_block<R, 1>(dx, ld_dx, g, ld_g, w, O, I, y, relu_only, r, j);
  for (int i = r; i < r + R; i++)
    for (int c = j; c < I; c++) {
      float sum = 0.0f;
      for (int o = 0; o < O; o++) sum += g[(size_t)i * ld_g + o] * w[(size_t)o * I + c];
      dx[(size_t)i * ld_dx + c] = relu_only ? (y[(size_t)i * ld_dx + c] <= 0.0f ? 0.0f : sum) : sum;
    }
}

template <int R, int J>
__attribute__((always_inline)) inline void backward_input(float* dx, int ld_dx, const float* g, int ld_g,
                                                          const float* w, int O, int I, const BackwardEpilogue& e,
                                                          int r0, int r1) {
  const bool relu_only = e.apply && e.activation == Activation::kRelu && e.mask == nullptr;
  int r = r0;
  for (; r + R <= r1; r += R) input_rows<R, J>(dx, ld_dx, g, ld_g, w, O, I, e.x_or_y, relu_only, r);
  for (; r < r1; r++) input_rows<1, J>(dx, ld_dx, g, ld_g, w, O, I, e.x_or_y, relu_only, r);
  if (!e.apply || relu_only) return;
  for (r = r0; r < r1; r++) {
    float* d = dx + (size_t)r * ld_dx;
    const float* a = e.x_or_y + (size_t)r * ld_dx;
    for (int c = 0; c < I; c++) {
      float v = d[c];
      if (e.mask != nullptr) v = e.mask[(size_t)r * e.O + c] ? v * e.scale : 0.0f;
      d[c] = v * activation_gradient(e.activation, a[c], e.slope);
    }
  }
}

// Weight gradient, outputs [o, o + Q) × inputs [c, c + C·16): dw = Σ_b g[b, o]·x[b, ·], b in order from 0, one FMA
// chain a value; written once at the end.
template <int Q, int C>
__attribute__((always_inline)) inline void weight_block(float* dw, const float* g, int ld_g, const float* x, int ld_x,
                                                        int B, int I, int o, int c) {
  v16f acc[Q][C] = {};
  for (int b = 0; b < B; b++) {
    v16f xv[C];
    for (int t = 0; t < C; t++) xv[t] = load16(x + (size_t)b * ld_x + c + kLanes * t);
    for (int q = 0; q < Q; q++) {
      const float gv = g[(size_t)b * ld_g + o + q];
      for (int t = 0; t < C; t++) acc[q][t] += gv * xv[t];
    }
  }
  for (int q = 0; q < Q; q++)
    for (int t = 0; t < C; t++) store16(dw + (size_t)(o + q) * I + c + kLanes * t, acc[q][t]);
}

template <int N, int C>
__attribute__((always_inline)) inline void weight_tail(int n, float* dw, const float* g, int ld_g, const float* x,
                                                       int ld_x, int B, int I, int o, int c) {
  if constexpr (N > 0) {
    if (n == N) weight_block<N, C>(dw, g, ld_g, x, ld_x, B, I, o, c);
    else weight_tail<N - 1, C>(n, dw, g, ld_g, x, ld_x, B, I, o, c);
  }
}

template <int Q, int C>
__attribute__((always_inline)) inline void weight_columns(float* dw, const float* g, int ld_g, const float* x, int ld_x,
                                                          int B, int I, int O, int c) {
  int o = 0;
  for (; o + Q <= O; o += Q) weight_block<Q, C>(dw, g, ld_g, x, ld_x, B, I, o, c);
  weight_tail<Q - 1, C>(O - o, dw, g, ld_g, x, ld_x, B, I, o, c);
}

template <int Q, int C>
__attribute__((always_inline)) inline void backward_weight(float* dw, const float* g, int ld_g, const float* x,
                                                           int ld_x, int B, int I, int O, int c0, int c1) {
  int c = c0;
  for (; c + C * kLanes <= c1; c += C * kLanes) weight_columns<Q, C>(dw, g, ld_g, x, ld_x, B, I, O, c);
  for (; c + kLanes <= c1; c += kLanes) weight_columns<Q, 1>(dw, g, ld_g, x, ld_x, B, I, O, c);
  for (int o = 0; o < O; o++)
    for (int k = c; k < c1; k++) {
      float sum = 0.0f;
      for (int b = 0; b < B; b++) sum += g[(size_t)b * ld_g + o] * x[(size_t)b * ld_x + k];
      dw[(size_t)o * I + k] = sum;
    }
}

// The blockings: with AVX-512's 32 registers, 4 rows × 5 outputs of forward sums (20), 4 rows × 2 vectors of input
// gradient, 5 outputs × 4 vectors of weight gradient; with AVX2's 16 (each vector here is two), about half.
FCNET_CLONES
void forward_wide(float* out, int ld_out, const float* x, int ld_x, const float* w, const float* b, int I, int O,
                  int r0, int r1) {
  rows_by_outputs<Forward, 4, 5>(O, r0, r1, out, ld_out, x, ld_x, w, b, I);
}

FCNET_CLONES
void forward_narrow(float* out, int ld_out, const float* x, int ld_x, const float* w, const float* b, int I, int O,
                    int r0, int r1) {
  rows_by_outputs<Forward, 1, 4>(O, r0, r1, out, ld_out, x, ld_x, w, b, I);
}

FCNET_CLONES
void input_wide(float* dx, int ld_dx, const float* g, int ld_g, const float* w, int O, int I,
                const BackwardEpilogue& e, int r0, int r1) {
  backward_input<4, 2>(dx, ld_dx, g, ld_g, w, O, I, e, r0, r1);
}

FCNET_CLONES
void input_narrow(float* dx, int ld_dx, const float* g, int ld_g, const float* w, int O, int I,
                  const BackwardEpilogue& e, int r0, int r1) {
  backward_input<2, 1>(dx, ld_dx, g, ld_g, w, O, I, e, r0, r1);
}

FCNET_CLONES
void weight_wide(float* dw, const float* g, int ld_g, const float* x, int ld_x, int B, int I, int O, int c0, int c1) {
  backward_weight<5, 4>(dw, g, ld_g, x, ld_x, B, I, O, c0, c1);
}

FCNET_CLONES
void weight_narrow(float* dw, const float* g, int ld_g, const float* x, int ld_x, int B, int I, int O, int c0,
                   int c1) {
  backward_weight<4, 1>(dw, g, ld_g, x, ld_x, B, I, O, c0, c1);
}

bool wide() { return tile_vector_floats() == 16; }

}  // namespace

void thin_forward_rows(float* out, int ld_out, const float* x, int ld_x, const float* w, const float* b, int I, int O,
                       int r0, int r1) {
  if (wide()) forward_wide(out, ld_out, x, ld_x, w, b, I, O, r0, r1);
  else forward_narrow(out, ld_out, x, ld_x, w, b, I, O, r0, r1);
}

void thin_backward_input_rows(float* dx, int ld_dx, const float* g, int ld_g, const float* w, int O, int I,
                              const BackwardEpilogue& e, int r0, int r1) {
  if (wide()) input_wide(dx, ld_dx, g, ld_g, w, O, I, e, r0, r1);
  else input_narrow(dx, ld_dx, g, ld_g, w, O, I, e, r0, r1);
}

void thin_backward_weight_cols(float* dw, float* db, const float* g, int ld_g, const float* x, int ld_x, int B, int I,
                               int O, int c0, int c1) {
  if (wide()) weight_wide(dw, g, ld_g, x, ld_x, B, I, O, c0, c1);
  else weight_narrow(dw, g, ld_g, x, ld_x, B, I, O, c0, c1);
  if (c0 != 0) return;
  std::fill(db, db + O, 0.0f);
  for (int b = 0; b < B; b++)
    for (int o = 0; o < O; o++) db[o] += g[(size_t)b * ld_g + o];
}

}  // namespace fcnet

#include "thin_linear.h"

#include <algorithm>
#include <cstddef>

#include "simd.h"

namespace fcnet {
namespace {

// Eight floats as one value, loadable from any float address (plain C++ vectors: portable beyond x86).
typedef float v8f __attribute__((vector_size(32), aligned(4)));

inline v8f load8(const float* p) { return *reinterpret_cast<const v8f*>(p); }
inline void store8(float* p, v8f x) { *reinterpret_cast<v8f*>(p) = x; }

// out[q] = b[q] + Σ_j w[q·I + j]·x[j] for Q rows of w at once, x loaded once for all; eight lanes, then the lanes
// in a fixed order, then the tail.
template <int Q>
__attribute__((always_inline)) inline void dot_rows(float* out, const float* __restrict w, const float* __restrict b,
                                                    const float* __restrict x, int I) {
  v8f acc[Q] = {};
  int j = 0;
  for (; j + 8 <= I; j += 8) {
    const v8f xv = load8(x + j);
    for (int q = 0; q < Q; q++) acc[q] += load8(w + (size_t)q * I + j) * xv;
  }
  for (int q = 0; q < Q; q++) {
    float sum = 0.0f;
    for (int i = 0; i < 8; i++) sum += acc[q][i];
    for (int t = j; t < I; t++) sum += w[(size_t)q * I + t] * x[t];
    out[q] = b[q] + sum;
  }
}

}  // namespace

FCNET_CLONES
void thin_forward_rows(float* out, int ld_out, const float* x, int ld_x, const float* w, const float* b, int I, int O,
                       int r0, int r1) {
  for (int r = r0; r < r1; r++) {
    const float* xr = x + (size_t)r * ld_x;
    float* z = out + (size_t)r * ld_out;
    int o = 0;
    for (; o + 4 <= O; o += 4) dot_rows<4>(z + o, w + (size_t)o * I, b + o, xr, I);
    for (; o < O; o++) dot_rows<1>(z + o, w + (size_t)o * I, b + o, xr, I);
  }
}

FCNET_CLONES
void thin_backward_input_rows(float* dx, int ld_dx, const float* g, int ld_g, const float* w, int O, int I,
                              const BackwardEpilogue& e, int r0, int r1) {
  const bool relu_only = e.apply && e.activation == Activation::kRelu && e.mask == nullptr;
  for (int r = r0; r < r1; r++) {
    const float* gr = g + (size_t)r * ld_g;
    float* d = dx + (size_t)r * ld_dx;
    const float* a = e.apply ? e.x_or_y + (size_t)r * ld_dx : nullptr;
    int j = 0;
    // Σ_o g[o]·w[o, j..j+8] in a register, o in order.
    for (; j + 8 <= I; j += 8) {
      v8f sum = {};
      for (int o = 0; o < O; o++) sum += gr[o] * load8(w + (size_t)o * I + j);
      if (relu_only) {
        const v8f zero = {};
        store8(d + j, load8(a + j) <= zero ? zero : sum);
      } else {
        store8(d + j, sum);
      }
    }
    for (; j < I; j++) {
      float sum = 0.0f;
      for (int o = 0; o < O; o++) sum += gr[o] * w[(size_t)o * I + j];
      d[j] = relu_only ? (a[j] <= 0.0f ? 0.0f : sum) : sum;
    }
    if (!e.apply || relu_only) continue;
    for (int c = 0; c < I; c++) {
      float v = d[c];
      if (e.mask != nullptr) v = e.mask[(size_t)r * e.O + c] ? v * e.scale : 0.0f;
      d[c] = v * activation_gradient(e.activation, a[c], e.slope);
    }
  }
}

FCNET_CLONES
void thin_backward_weight_cols(float* dw, float* db, const float* g, int ld_g, const float* x, int ld_x, int B, int I,
                               int O, int c0, int c1) {
  // The sums build up in an aligned block of this stack, then go to dw once: dw's rows sit anywhere in the
  // caller's buffer (fc2.weight after 392,500 floats is 16 bytes off a cache line), and adding into them row by
  // row split every vector store across two lines (perf: two thirds of this function's time on one store).
  // The same products are added in the same order, so the sums are the same bit for bit.
  constexpr int kBlock = 64;
  alignas(64) float acc[kThinOutputs][kBlock];
  for (int cb = c0; cb < c1; cb += kBlock) {
    const int n = std::min(kBlock, c1 - cb);
    for (int o = 0; o < O; o++) std::fill(acc[o], acc[o] + kBlock, 0.0f);
    for (int b = 0; b < B; b++) {
      const float* xr = x + (size_t)b * ld_x + cb;
      const float* gr = g + (size_t)b * ld_g;
      for (int o = 0; o < O; o++) {
        const float d = gr[o];
        for (int c = 0; c < n; c++) acc[o][c] += d * xr[c];
      }
    }
    for (int o = 0; o < O; o++) std::copy(acc[o], acc[o] + n, dw + (size_t)o * I + cb);
  }
  if (c0 != 0) return;
  std::fill(db, db + O, 0.0f);
  for (int b = 0; b < B; b++)
    for (int o = 0; o < O; o++) db[o] += g[(size_t)b * ld_g + o];
}

}  // namespace fcnet

// The dense linear op, forward and backward side by side, one tile of the output at a time: each tile is one
// single-threaded product (the BLAS's, or the naive reference's) followed by its epilogue while the tile is hot.
// Tiles are fixed by the shapes alone (plan_tiles), never by the thread count, and no two write one value, so a
// team running them in any order on any number of threads gives the same bits.
// Dimension letters: B batch, I the layer's inputs, O its outputs. Weights are PyTorch's (O, I): y = x·wᵀ + b.
// Row strides (ld_*) are in floats.
#pragma once

#include <cstdint>

#include "activations.h"

namespace fcnet {

// A tile grid over an (M, N) output: tiles of tm rows × tn columns.
struct TilePlan {
  int M, N, tm, tn;
  int rows() const { return (M + tm - 1) / tm; }
  int cols() const { return (N + tn - 1) / tn; }
  int count() const { return rows() * cols(); }
  void tile(int t, int* r0, int* r1, int* c0, int* c1) const {
    const int r = t / cols(), c = t % cols();
    *r0 = r * tm;
    *r1 = r * tm + tm < M ? r * tm + tm : M;
    *c0 = c * tn;
    *c1 = c * tn + tn < N ? c * tn + tn : N;
  }
};

// Tiles for an (M, N) output with inner dimension K: about 8 or more tiles of at least ~64 K multiply-adds each when
// the product is big enough, rows in multiples of 16, columns in multiples of 64; full_rows keeps every column in
// one tile (the last layer, whose epilogue is the loss over a whole row).
TilePlan plan_tiles(int M, int N, int K, bool full_rows);

// Dropout on a hidden layer's output: d = y · keep / (1 − p); keep from the hash (dropout_mask.h) or given.
struct DropoutOp {
  double p = 0.0;          // 0: none
  float scale = 1.0f;      // 1 / (1 − p), as torch computes it: 1.0f / (float)(1 − p)
  uint8_t* mask = nullptr; // (B, O) 1 = kept
  bool mask_given = false; // the mask was filled by the caller (PyTorch fixtures); else drawn from the hash
  uint32_t seed = 0, step = 0, layer = 0;
};

// The forward's epilogue: v = product + bias; a hidden layer then keeps v in pre when its activation's derivative
// needs it, writes y = activation(v) in place of the product, and with dropout writes dropped = y·mask·scale.
struct ForwardEpilogue {
  const float* bias = nullptr;  // (O), or null: the product has its bias already
  bool hidden = false;
  Activation activation = Activation::kRelu;
  float slope = 0.01f;
  float* pre = nullptr;      // (B, ld) or nullptr
  float* dropped = nullptr;  // (B, ld), with dropout
  DropoutOp dropout;
  int O = 0;                 // the mask's row length and the hash's index stride
};

// The input gradient's epilogue, for the layer below: g = product; with dropout g = mask ? g·scale : 0; then
// g ·= activation'(pre or y).
struct BackwardEpilogue {
  bool apply = false;        // false: the raw product (the input of the network has no activation)
  Activation activation = Activation::kRelu;
  float slope = 0.01f;
  const float* x_or_y = nullptr;  // (B, ld): pre when activation_needs_input, else the activation's output y
  const uint8_t* mask = nullptr;  // (B, O) with dropout, else nullptr
  float scale = 1.0f;
  int O = 0;
};

// The epilogue alone, on a product already in out[r0:r1, c0:c1] (without bias: e.bias null, as the sparse first
// layer's tiles leave it).
void forward_epilogue_rows(float* out, int ld_out, const ForwardEpilogue& e, int r0, int r1, int c0, int c1);

// out[r0:r1, c0:c1] of out(B, ld_out) = x(B, ld_x) · w(O, I)ᵀ, then the epilogue.
void linear_forward_tile(float* out, int ld_out, const float* x, int ld_x, const float* w, int I,
                         const ForwardEpilogue& e, int r0, int r1, int c0, int c1, bool naive);

// dx[r0:r1, c0:c1] of dx(B, ld_dx) = g(B, ld_g) · w(O, I), then the epilogue.
void linear_backward_input_tile(float* dx, int ld_dx, const float* g, int ld_g, const float* w, int O, int I,
                                const BackwardEpilogue& e, int r0, int r1, int c0, int c1, bool naive);

// dw[o0:o1, c0:c1] of dw(O, I) = g(B, ld_g)ᵀ · x(B, ld_x); when c0 == 0 also db[o0:o1] = Σ_b g[b, o] (rows in order).
void linear_backward_weight_tile(float* dw, float* db, const float* g, int ld_g, const float* x, int ld_x, int B,
                                 int I, int o0, int o1, int c0, int c1, bool naive);

}  // namespace fcnet

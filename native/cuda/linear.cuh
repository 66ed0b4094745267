// A linear layer's forward and backward on the device, each a launch of the tiled product with the
// layer's own epilogue fused in. Dimension letters: B batch, I a layer's inputs, O its outputs.
#pragma once

#include "adam_math.h"
#include "device_compat.cuh"
#include "matrix_view.cuh"

/** Which tile shape the products use: chosen per launch from the number of blocks, or forced (tests, tuning). */
struct GemmTuning {
  int multiprocessors;  // the device's SM count: a launch wants at least this many blocks
  int forced_tile;      // -1: choose; else 0 small (16×32), 1 medium (32×64), 2 large (64×64), 3 the naive reference
};

/** out(B,O) = x(B,I) · w(O,I)ᵀ + b(O), then ReLU when `relu`. */
void linear_forward(float* out, const MatrixView& x, const float* w, const float* b, int B, int I, int O, bool relu,
                    const GemmTuning& tuning, cudaStream_t stream);

/**
 * dx(B,I) = dout(B,O) · w(O,I), zeroed where relu_out(B,I) <= 0: the input gradient and the backward of the
 * ReLU that produced the layer's input, in one pass.
 */
void linear_backward_input(float* dx, const float* dout, const float* w, const float* relu_out, int B, int I, int O,
                           const GemmTuning& tuning, cudaStream_t stream);

/** One layer's part of linear_backward_weights. */
struct WeightGradient {
  float* dw;          // (O, I)
  float* db;          // (O)
  const float* dout;  // (B, O) gradient at the layer's output
  MatrixView x;       // (B, I) the layer's input
  int I, O;
  // Adam's views of this layer's weight (O, I) and bias (O) in the flat buffers; used when adam != nullptr.
  float* w;
  float* w_m;
  float* w_v;
  float* b;
  float* b_m;
  float* b_v;
};

/**
 * dw(O,I) = dout(B,O)ᵀ · x(B,I) and db(O) = Σ_b dout for all `count` layers in one launch, then, when `adam` (a
 * device pointer) is given and the device flag `skip_adam` (if given) is 0, Adam's update of every weight and
 * bias from its fresh gradient in the same pass.
 */
void linear_backward_weights(const WeightGradient* layers, int count, int B, const AdamScalars* adam,
                             const int* skip_adam, const GemmTuning& tuning, cudaStream_t stream);

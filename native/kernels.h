// The math of one training step, as plain C++ on raw pointers (no Node-API here).
// Dimension letters: B batch, I a layer's inputs, O its outputs, C classes, D values per image.
// Weights are PyTorch's layout, (O, I) row-major: y = x · wᵀ + b.
#pragma once

#include <cstddef>
#include <cstdint>

#include "adam_math.h"

namespace fcnet {

// out(B,O) = x(B,I) · w(O,I)ᵀ + b(O); ReLU applied in place when relu.
void linear_forward(float* out, const float* x, const float* w, const float* b, int B, int I, int O, bool relu);
// dw(O,I) = dout(B,O)ᵀ · x(B,I); db(O) = column sums of dout; dx(B,I) = dout · w when dx != nullptr.
void linear_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w, int B, int I,
                     int O);

// d(n) = 0 where y(n) <= 0; y is the ReLU's output.
void relu_backward(float* d, const float* y, size_t n);

// Mean cross-entropy of logits(B,C) against labels(B), with a stable log-sum-exp.
// When dlogits != nullptr it gets (softmax − onehot) / B. Labels must already be checked to lie in [0, C).
// One row of it: returns the row's loss (not divided by B) and writes its gradient divided by B.
double softmax_cross_entropy_row(float* dz, const float* z, int32_t label, int C, int B);
double softmax_cross_entropy(float* dlogits, const float* logits, const int32_t* labels, int B, int C);

// One torch.optim.Adam step (step counts from 1) over n values of params, with grads, m and v beside them.
// The arithmetic, shared with the CUDA kernels, is in adam_math.h.
void adam_update(float* params, const float* grads, float* m, float* v, size_t n, const AdamHyper& h, int64_t step);

// out(B) = index of the largest value in each row of x(B,C), the first on ties.
void argmax_rows(int32_t* out, const float* x, int B, int C);

// x(B,D) = images(N,D)[indices[b]] / 255. Indices must already be checked to lie in [0, N).
void gather_batch(float* x, const uint8_t* images, const int32_t* indices, int B, int D);

}  // namespace fcnet

// The math of one training step, as plain C++ on raw pointers (no Node-API here).
// Dimension letters: B batch, I a layer's inputs, O its outputs, C classes, D values per image.
// Weights are PyTorch's layout, (O, I) row-major: y = x · wᵀ + b.
#pragma once

#include <cstddef>
#include <cstdint>

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

// Doubles, as torch holds them in Python floats; the per-value math is float32 like torch's CPU kernel.
struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
};
// One torch.optim.Adam step (step counts from 1) over n values of params, with grads, m and v beside them.
void adam_update(float* params, const float* grads, float* m, float* v, size_t n, const AdamHyper& h, int64_t step);

// The per-step constants of Adam, and the update of one value: shared by every Adam loop so they agree.
struct AdamStepConstants {
  float step_size, bc2_sqrt, b1, one_minus_b1, b2, one_minus_b2, wd, eps;
};
AdamStepConstants adam_step_constants(const AdamHyper& h, int64_t step);

// Updates m and v in place and returns the new parameter value.
__attribute__((always_inline)) inline float adam_value(float p, float g, float& m, float& v, const AdamStepConstants& c) {
  if (c.wd != 0.0f) g += c.wd * p;
  m = c.b1 * m + c.one_minus_b1 * g;
  v = c.b2 * v + c.one_minus_b2 * g * g;
  return p - c.step_size * m / (__builtin_sqrtf(v) / c.bc2_sqrt + c.eps);
}

// out(B) = index of the largest value in each row of x(B,C), the first on ties.
void argmax_rows(int32_t* out, const float* x, int B, int C);

// x(B,D) = images(N,D)[indices[b]] / 255. Indices must already be checked to lie in [0, N).
void gather_batch(float* x, const uint8_t* images, const int32_t* indices, int B, int D);

}  // namespace fcnet

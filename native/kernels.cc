#include "kernels.h"

#include <algorithm>
#include <cmath>

#include "gemm.h"

namespace fcnet {

void linear_forward(float* out, const float* x, const float* w, const float* b, int B, int I, int O, bool relu) {
  for (int r = 0; r < B; r++) std::copy(b, b + O, out + (size_t)r * O);
  sgemm(false, true, B, O, I, 1.0f, x, I, w, I, 1.0f, out, O);
  if (relu) {
    const size_t n = (size_t)B * O;
    for (size_t i = 0; i < n; i++) out[i] = out[i] < 0.0f ? 0.0f : out[i];  // a NaN passes, as in PyTorch
  }
}

void linear_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w, int B, int I,
                     int O) {
  sgemm(true, false, O, I, B, 1.0f, dout, O, x, I, 0.0f, dw, I);
  std::fill(db, db + O, 0.0f);
  for (int r = 0; r < B; r++) {
    const float* d = dout + (size_t)r * O;
    for (int o = 0; o < O; o++) db[o] += d[o];
  }
  if (dx != nullptr) sgemm(false, false, B, I, O, 1.0f, dout, O, w, I, 0.0f, dx, I);
}

void relu_backward(float* d, const float* y, size_t n) {
  for (size_t i = 0; i < n; i++) d[i] = y[i] > 0.0f ? d[i] : 0.0f;
}

double softmax_cross_entropy_row(float* dz, const float* z, int32_t label, int C, int B) {
  const float zmax = *std::max_element(z, z + C);
  float sum = 0.0f;
  for (int c = 0; c < C; c++) sum += std::exp(z[c] - zmax);
  const float log_sum = std::log(sum);
  if (dz != nullptr) {
    const float inv = 1.0f / sum;
    for (int c = 0; c < C; c++) dz[c] = std::exp(z[c] - zmax) * inv / (float)B;
    dz[label] -= 1.0f / (float)B;
  }
  return (double)(log_sum + zmax - z[label]);
}

double softmax_cross_entropy(float* dlogits, const float* logits, const int32_t* labels, int B, int C) {
  double loss_sum = 0.0;
  for (int r = 0; r < B; r++)
    loss_sum += softmax_cross_entropy_row(dlogits == nullptr ? nullptr : dlogits + (size_t)r * C,
                                          logits + (size_t)r * C, labels[r], C, B);
  return B > 0 ? loss_sum / B : 0.0;
}

void adam_update(float* params, const float* grads, float* m, float* v, size_t n, const AdamHyper& h, int64_t step) {
  const AdamStepConstants c = adam_step_constants(h, step);
  for (size_t i = 0; i < n; i++) params[i] = adam_value(params[i], grads[i], m[i], v[i], c);
}

void argmax_rows(int32_t* out, const float* x, int B, int C) {
  for (int r = 0; r < B; r++) {
    const float* z = x + (size_t)r * C;
    out[r] = (int32_t)(std::max_element(z, z + C) - z);
  }
}

void gather_batch(float* x, const uint8_t* images, const int32_t* indices, int B, int D) {
  for (int r = 0; r < B; r++) {
    const uint8_t* src = images + (size_t)indices[r] * D;
    float* dst = x + (size_t)r * D;
    for (int d = 0; d < D; d++) dst[d] = (float)src[d] / 255.0f;
  }
}

}  // namespace fcnet

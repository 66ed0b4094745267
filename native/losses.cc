#include "losses.h"

#include <algorithm>
#include <cmath>

namespace fcnet {
namespace {

double cross_entropy_row(float* dz, const float* z, int32_t label, float weight, int C, float grad_scale) {
  const float zmax = *std::max_element(z, z + C);
  float sum = 0.0f;
  for (int c = 0; c < C; c++) sum += std::exp(z[c] - zmax);
  const float log_sum = std::log(sum);
  if (dz != nullptr) {
    const float inv = 1.0f / sum, scale = weight * grad_scale;
    for (int c = 0; c < C; c++) dz[c] = std::exp(z[c] - zmax) * inv * scale;
    dz[label] -= scale;
  }
  return (double)weight * (double)(log_sum + zmax - z[label]);
}

// max(z, 0) − z·t + log1p(exp(−|z|)) per value, torch's stable form; gradient (σ(z) − t).
double bce_with_logits_row(float* dz, const float* z, const float* t, int K, float grad_scale) {
  double sum = 0.0;
  for (int k = 0; k < K; k++) {
    const float x = z[k];
    sum += (double)(std::max(x, 0.0f) - x * t[k] + std::log1p(std::exp(-std::fabs(x))));
    if (dz != nullptr) dz[k] = (1.0f / (1.0f + std::exp(-x)) - t[k]) * grad_scale;
  }
  return sum;
}

double mse_row(float* dz, const float* z, const float* t, int K, float grad_scale) {
  double sum = 0.0;
  for (int k = 0; k < K; k++) {
    const float d = z[k] - t[k];
    sum += (double)(d * d);
    if (dz != nullptr) dz[k] = 2.0f * d * grad_scale;
  }
  return sum;
}

double l1_row(float* dz, const float* z, const float* t, int K, float grad_scale) {
  double sum = 0.0;
  for (int k = 0; k < K; k++) {
    const float d = z[k] - t[k];
    sum += (double)std::fabs(d);
    // sign(0) = 0, as torch's sgn; a NaN stays NaN.
    if (dz != nullptr) dz[k] = (d > 0.0f ? 1.0f : d < 0.0f ? -1.0f : d) * grad_scale;
  }
  return sum;
}

}  // namespace

double loss_row(Loss loss, float* dz, const float* z, int32_t label, float weight, const float* target, int K,
                float grad_scale) {
  switch (loss) {
    case Loss::kCrossEntropy: return cross_entropy_row(dz, z, label, weight, K, grad_scale);
    case Loss::kBceWithLogits: return bce_with_logits_row(dz, z, target, K, grad_scale);
    case Loss::kMse: return mse_row(dz, z, target, K, grad_scale);
    case Loss::kL1: return l1_row(dz, z, target, K, grad_scale);
  }
  return 0.0;
}

}  // namespace fcnet

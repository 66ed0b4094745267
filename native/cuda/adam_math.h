// Adam's per-step scalars, as torch.optim.Adam 1.13 computes them: bias corrections on the host in double,
// then handed to the kernels as floats (PyTorch's own float tensors see them as floats too).
// Plain C++ with no CUDA in it: the engine, the binding and the kernels all include it.
#pragma once

#include <cmath>

#ifndef FCNET_HOST_DEVICE
#if defined(__CUDACC__)
#define FCNET_HOST_DEVICE __host__ __device__
#else
#define FCNET_HOST_DEVICE
#endif
#endif

/** Adam's hyper-parameters as TypeScript hands them over. */
struct AdamHyper {
  double lr;
  double beta1;
  double beta2;
  double eps;
  double weight_decay;
};

/** Everything one Adam update of one value needs; step-dependent parts already folded in. */
struct AdamScalars {
  float beta1;
  float one_minus_beta1;
  float beta2;
  float one_minus_beta2;
  float step_size;              // lr / (1 - beta1^step)
  float bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  float eps;
  float weight_decay;           // L2 penalty added to the gradient (0: none)
};

/** The scalars of 1-based step `step`, in double first: 1 - 0.999^step loses digits in float. */
inline AdamScalars adam_scalars(const AdamHyper& h, double step) {
  const double bias_correction1 = 1.0 - std::pow(h.beta1, step);
  const double bias_correction2 = 1.0 - std::pow(h.beta2, step);
  AdamScalars s;
  s.beta1 = static_cast<float>(h.beta1);
  s.one_minus_beta1 = static_cast<float>(1.0 - h.beta1);
  s.beta2 = static_cast<float>(h.beta2);
  s.one_minus_beta2 = static_cast<float>(1.0 - h.beta2);
  s.step_size = static_cast<float>(h.lr / bias_correction1);
  s.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  s.eps = static_cast<float>(h.eps);
  s.weight_decay = static_cast<float>(h.weight_decay);
  return s;
}

/**
 * One Adam update of one value, in the order torch 1.13's single-tensor Adam evaluates it:
 * g += wd·p; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g·g; p += (-step_size·m) / (sqrt(v)/sqrt(bc2) + eps).
 */
FCNET_HOST_DEVICE inline void adam_update_one(float& p, float& m, float& v, float g, const AdamScalars& s) {
  if (s.weight_decay != 0.0f) g = g + s.weight_decay * p;
  m = m * s.beta1 + s.one_minus_beta1 * g;
  v = v * s.beta2 + s.one_minus_beta2 * g * g;
  const float denom = sqrtf(v) / s.bias_correction2_sqrt + s.eps;
  p = p + (-s.step_size * m) / denom;
}

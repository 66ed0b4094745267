// Adam's arithmetic as torch.optim.Adam 1.13 does it, shared by the CPU core and the CUDA kernels so that both
// compute the same values: the per-step constants on the host in double (as torch's Python floats), then the
// update of each value in float32, in torch's order. Plain C++; under nvcc the update is a device function too.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define FCNET_ADAM_INLINE __host__ __device__ __forceinline__
#else
#define FCNET_ADAM_INLINE __attribute__((always_inline)) inline
#endif

namespace fcnet {

// Doubles, as torch holds them in Python floats.
struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
};

// Everything one update of one value needs, with the step's bias corrections folded in.
struct AdamStepConstants {
  float step_size;  // lr / (1 - beta1^step)
  float bc2_sqrt;   // sqrt(1 - beta2^step)
  float b1, one_minus_b1, b2, one_minus_b2;
  float wd;         // L2 penalty added to the gradient (0: none)
  float eps;
};

// The constants of 1-based step `step`, in double first: 1 - 0.999^step loses digits in float.
inline AdamStepConstants adam_step_constants(const AdamHyper& h, int64_t step) {
  const double bc1 = 1.0 - std::pow(h.beta1, (double)step);
  const double bc2 = 1.0 - std::pow(h.beta2, (double)step);
  return AdamStepConstants{(float)(h.lr / bc1),   (float)std::sqrt(bc2), (float)h.beta1,        (float)(1.0 - h.beta1),
                           (float)h.beta2,        (float)(1.0 - h.beta2), (float)h.weight_decay, (float)h.eps};
}

// Updates m and v in place and returns the new parameter value:
// g += wd·p; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g·g; p − step_size·m / (sqrt(v)/sqrt(bc2) + eps).
FCNET_ADAM_INLINE float adam_value(float p, float g, float& m, float& v, const AdamStepConstants& c) {
  if (c.wd != 0.0f) g += c.wd * p;
  m = c.b1 * m + c.one_minus_b1 * g;
  v = c.b2 * v + c.one_minus_b2 * g * g;
  return p - c.step_size * m / (sqrtf(v) / c.bc2_sqrt + c.eps);
}

}  // namespace fcnet

// The hidden layers' activations as two one-line functions of one value each (darknet's *_activate /
// *_gradient), PyTorch 1.13's formulas. Shared by the C++ loops and, under nvcc, the CUDA kernels.
// A NaN passes through every activation and every derivative, as in PyTorch.
#pragma once

#include <cmath>

#if defined(__CUDACC__)
#define FCNET_ACT_INLINE __host__ __device__ __forceinline__
#else
#define FCNET_ACT_INLINE __attribute__((always_inline)) inline
#endif

namespace fcnet {

// The order of lib/network.ts's Activation names.
enum class Activation : int { kRelu = 0, kLeakyRelu = 1, kTanh = 2, kSigmoid = 3, kGelu = 4 };

// Whether the derivative needs the pre-activation x (else it is computed from the output y).
FCNET_ACT_INLINE bool activation_needs_input(Activation a) { return a == Activation::kLeakyRelu || a == Activation::kGelu; }

FCNET_ACT_INLINE float relu_activate(float x) { return x < 0.0f ? 0.0f : x; }
FCNET_ACT_INLINE float relu_gradient(float y) { return y <= 0.0f ? 0.0f : 1.0f; }  // torch's threshold_backward

FCNET_ACT_INLINE float leaky_relu_activate(float x, float slope) { return x > 0.0f ? x : x * slope; }
FCNET_ACT_INLINE float leaky_relu_gradient(float x, float slope) { return x > 0.0f ? 1.0f : slope; }

FCNET_ACT_INLINE float tanh_activate(float x) { return tanhf(x); }
FCNET_ACT_INLINE float tanh_gradient(float y) { return 1.0f - y * y; }  // torch's tanh_backward, from the output

FCNET_ACT_INLINE float sigmoid_activate(float x) { return 1.0f / (1.0f + expf(-x)); }
FCNET_ACT_INLINE float sigmoid_gradient(float y) { return (1.0f - y) * y; }  // torch's sigmoid_backward

// GELU, erf form: 0.5·x·(1 + erf(x/√2)); derivative 0.5·(1 + erf(x/√2)) + x·exp(−x²/2)/√(2π).
FCNET_ACT_INLINE float gelu_activate(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
FCNET_ACT_INLINE float gelu_gradient(float x) {
  return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * expf(-0.5f * x * x) * 0.39894228040143268f;
}

// y = f(x) for activation a.
FCNET_ACT_INLINE float activate(Activation a, float x, float slope) {
  switch (a) {
    case Activation::kRelu: return relu_activate(x);
    case Activation::kLeakyRelu: return leaky_relu_activate(x, slope);
    case Activation::kTanh: return tanh_activate(x);
    case Activation::kSigmoid: return sigmoid_activate(x);
    case Activation::kGelu: return gelu_activate(x);
  }
  return x;
}

// f'(x), given x when activation_needs_input(a), else given y = f(x).
FCNET_ACT_INLINE float activation_gradient(Activation a, float x_or_y, float slope) {
  switch (a) {
    case Activation::kRelu: return relu_gradient(x_or_y);
    case Activation::kLeakyRelu: return leaky_relu_gradient(x_or_y, slope);
    case Activation::kTanh: return tanh_gradient(x_or_y);
    case Activation::kSigmoid: return sigmoid_gradient(x_or_y);
    case Activation::kGelu: return gelu_gradient(x_or_y);
  }
  return 1.0f;
}

}  // namespace fcnet

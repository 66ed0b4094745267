// The optimizers of the engine's training step, value by value, as torch.optim 1.13 computes them (foreach=False,
// maximize=False): Adam (adam_math.h), AdamW and SGD. The per-step constants are made on the host in double, as
// torch's Python floats; each update runs in float32 in torch's order of operations. One template per kind, so
// that each flat loop vectorizes without a branch inside.
#pragma once

#include <cstdint>

#include "adam_math.h"

namespace fcnet {

enum class OptimizerKind : int { kAdam = 0, kAdamW = 1, kSGD = 2 };

// lr and weight_decay for every kind (L2 added to the gradient for Adam and SGD, decoupled for AdamW); beta1,
// beta2, eps for Adam and AdamW; momentum, dampening, nesterov for SGD.
struct OptimizerHyper {
  OptimizerKind kind = OptimizerKind::kAdam;
  AdamHyper adam{1e-3, 0.9, 0.999, 1e-8, 0.0};
  double momentum = 0.0, dampening = 0.0;
  bool nesterov = false;
};

struct StepConstants {
  OptimizerKind kind;
  AdamStepConstants adam;  // Adam and AdamW (AdamW with wd 0: its decay is below)
  float decay;             // AdamW: 1 − lr·λ
  float lr, momentum, keep, wd;  // SGD: keep = 1 − dampening
  bool nesterov, first;          // SGD: first, the step that starts the momentum buffer (torch's None)
};

inline StepConstants step_constants(const OptimizerHyper& h, int64_t step) {
  StepConstants c{};
  c.kind = h.kind;
  AdamHyper adam = h.adam;
  if (h.kind == OptimizerKind::kAdamW) adam.weight_decay = 0.0;  // decoupled: applied as decay
  c.adam = adam_step_constants(adam, step);
  c.decay = (float)(1.0 - h.adam.lr * h.adam.weight_decay);
  c.lr = (float)h.adam.lr;
  c.momentum = (float)h.momentum;
  c.keep = (float)(1.0 - h.dampening);
  c.wd = (float)h.adam.weight_decay;
  c.nesterov = h.nesterov;
  c.first = step == 1;
  return c;
}

// SGD: g += λ·p; with momentum b = g (first step) or μ·b + (1 − τ)·g, then g = g + μ·b (Nesterov) or b;
// p − lr·g (torch's param.add_(d_p, alpha=-lr)). The momentum buffer is m.
// Selects rather than branches, and m always stored (unchanged without momentum), so that loops vectorize.
FCNET_ADAM_INLINE float sgd_value(float p, float g, float& m, const StepConstants& c) {
  g = c.wd != 0.0f ? g + c.wd * p : g;
  const float b = c.first ? g : c.momentum * m + c.keep * g;
  const float moved = c.nesterov ? g + c.momentum * b : b;
  m = c.momentum != 0.0f ? b : m;
  g = c.momentum != 0.0f ? moved : g;
  return p + (-c.lr) * g;
}

template <OptimizerKind K>
FCNET_ADAM_INLINE float update_value(float p, float g, float& m, float& v, const StepConstants& c) {
  if (K == OptimizerKind::kSGD) return sgd_value(p, g, m, c);
  if (K == OptimizerKind::kAdamW) p = p * c.decay;  // torch: param.mul_(1 - lr * weight_decay)
  return adam_value(p, g, m, v, c.adam);
}

}  // namespace fcnet

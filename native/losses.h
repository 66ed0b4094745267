// The losses, the network's last op, one row at a time: each returns the row's loss and, in the same pass, writes
// the row's gradient with respect to the logits (llm.c's crossentropy_softmax_backward), PyTorch 1.13's
// reduction='mean'. Dimension letters: C classes (cross_entropy), K outputs per row (the others).
#pragma once

#include <cstdint>

namespace fcnet {

// The order of lib/network.ts's LossName names.
enum class Loss : int { kCrossEntropy = 0, kBceWithLogits = 1, kMse = 2, kL1 = 3 };

// One row of logits z (K). Cross-entropy reads `label` (checked to lie in [0, K)) and `weight` (the class's weight,
// 1 without weights), the others read target (K). Returns the row's summed loss (cross-entropy: weight · −log
// softmax(z)[label]); the mean is that sum over the batch divided by the loss's denominator (see
// loss_denominator). When dz != nullptr it gets the row's gradient of that mean: grad_scale = 1 / denominator.
double loss_row(Loss loss, float* dz, const float* z, int32_t label, float weight, const float* target, int K,
                float grad_scale);

// Whether the loss takes class labels (Int32Array (B)) rather than float targets (B, K). The summed row losses are
// divided by B·K (bce, mse, l1), B (cross-entropy) or Σ_b weight[label_b] (weighted cross-entropy).
inline bool loss_takes_labels(Loss loss) { return loss == Loss::kCrossEntropy; }

}  // namespace fcnet

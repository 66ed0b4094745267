// A whole training step fused in C++ for inputs that are mostly zeros (MNIST: ~81 % of pixels), on a
// team of threads. The first layer's products only touch the non-zero inputs (sparse_tiles.h):
//   forward   h1(B,H) = relu(b1 + Σ_{k: x[b,k]≠0} x[b,k] · W1ᵀ[k,:])    rows of W1ᵀ, contiguous
//   gradient  dW1ᵀ[k,:] = Σ_{b: x[b,k]≠0} x[b,k] · dh1[b,:]              rows of dh1, contiguous
// so it keeps W1ᵀ (I,H), a transposed shadow of fc1.weight, refreshed by the Adam step that changes
// fc1.weight, and dW1ᵀ (I,H), which that Adam step reads back into PyTorch's layout.
// Parameters, moments and gradients stay in the caller's flat buffers, in PyTorch's layout, except the
// first layer's weight gradient, which download_gradients() writes there on demand.
// Dimension letters: B batch, I inputs, H first hidden width, Hp = H padded to whole chunks of 64, Ld the row
// stride of every (·, Hp) matrix: Hp plus 16 floats, because with a stride of a power of two (2 KB for MNIST)
// the same chunk of every row falls into the same few cache sets (measured a tenth slower a step).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels.h"
#include "sparse_tiles.h"
#include "thread_team.h"

namespace fcnet {

struct ParameterPointers {
  float* params;
  float* grads;
  float* m;
  float* v;
};

class SparseTrainer {
 public:
  // sizes: layer widths, input first (at least two layers). threads: members of the team (≥ 1).
  SparseTrainer(const std::vector<int>& sizes, int max_batch, int threads);

  // One step on images[indices[b]] (uint8, (N, I)) with labels[b]: gather, forward, loss, backward, Adam.
  // indices (B) and labels (B, the batch's own) must be checked, in memory the caller owns: both are read more
  // than once and indexed with. Returns the batch's mean loss; when it is not finite, nothing is updated.
  double train_batch(const ParameterPointers& p, const uint8_t* images, const int32_t* labels, const int32_t* indices,
                     int B, const AdamHyper& hyper, int64_t step);

  // Writes the last step's fc1.weight gradient, kept transposed, into grads in PyTorch's layout.
  // (Every other gradient is written in place by train_batch.)
  void download_gradients(float* grads) const;

  // Seconds spent in each phase of train_batch since the last reset, for the benchmark's time budget:
  // gather + first layer forward (+ a two-layer network's output layer, row by row), the rest of the network's
  // forward and backward (two layers: only its sums over the batch) while the inputs are laid out by column,
  // the first layer's weight gradient, Adam.
  static constexpr int kPhases = 4;
  const double* phase_seconds() const { return phase_seconds_; }
  void reset_phase_seconds() {
    for (double& s : phase_seconds_) s = 0.0;
  }

  // The caller changed fc1.weight: rebuild the shadow before the next step.
  void invalidate_shadow() { shadow_valid_ = false; }
  int threads() const { return team_.size(); }
  int max_batch() const { return max_batch_; }
  const std::vector<int>& sizes() const { return sizes_; }

 private:
  void order_batch_by_label(const int32_t* labels, int B);
  // The first layer's forward in three runs of the team: each member gathers and merges its groups of rows; then
  // computes every row for its chunks of hidden units (the chunks its Adam updated in the shadow: each member
  // reads half of W1ᵀ, from its own caches); then, for a two-layer network, the output layer for its rows.
  void gather_and_merge_rows(int member, int team, const uint8_t* images, const int32_t* labels,
                             const int32_t* indices, int B);
  void forward_first(int member, int team, int B);
  void output_layer_rows(int member, int team, const ParameterPointers& p, int B);
  double forward_rest_and_backward(const ParameterPointers& p, int B);
  // Two layers only: the output layer's weight gradient and both bias gradients, over member's share of H.
  void output_layer_reductions(int member, int team, const ParameterPointers& p, int B);
  // Lays member's share of the batch's inputs out by groups of columns, for first_layer_gradient.
  void merge_columns(int member, int team, int B);
  void first_layer_gradient(int member, int team, const ParameterPointers& p, int B);
  void adam(int member, int team, const ParameterPointers& p, const AdamStepConstants& c);
  void rebuild_shadow(const float* w1);

  const std::vector<int> sizes_;
  const int max_batch_;
  const int I_, H_;
  const int Hp_;  // H rounded up to whole chunks
  const int Ld_;  // the row stride of every (·, Hp) scratch of the first layer
  std::vector<size_t> weight_offset_, bias_offset_;  // per layer, into the flat buffers
  size_t parameter_count_;

  std::vector<std::vector<float>> acts_;    // acts_[l]: (max_batch, stride_[l]) for l ≥ 1
  std::vector<std::vector<float>> deltas_;  // deltas_[l]: (max_batch, stride_[l]) for l ≥ 1
  std::vector<int> stride_;                 // row stride of acts_[l] and deltas_[l]: Ld for l = 1, else sizes[l]
  std::vector<int32_t> batch_labels_;       // (max_batch)
  std::vector<double> row_loss_;            // (max_batch) each row's loss, two-layer networks
  std::vector<uint8_t> batch_pixels_;       // (max_batch, I) the batch's images
  // The batch's rows by label (ties in batch order): rows of one digit have more non-zero pixels in common, so
  // a group of neighbours in this order visits fewer positions (~10 % fewer for MNIST). Results do not depend on it.
  std::vector<int32_t> batch_order_;        // (max_batch)
  std::vector<int64_t> sort_keys_;          // (max_batch)
  // Non-zero inputs merged by groups of rows (the forward tiles) and by groups of columns (the gradient tiles).
  std::vector<int32_t> group_count_;        // (row groups)
  std::vector<int32_t> group_index_;        // (row groups, I)
  std::vector<float> group_value_;          // (row groups, I, kRowGroup)
  std::vector<int32_t> column_count_;       // (column groups)
  std::vector<int32_t> column_row_;         // (column groups, max_batch)
  std::vector<float> column_value_;         // (column groups, max_batch, kColumnGroup)
  std::vector<float> b1_;                   // (Hp) fc1.bias, zero-padded
  std::vector<float> w1t_;                  // (I, Ld) shadow of fc1.weight (H, I), zero-padded
  std::vector<float> dw1t_;                 // (I, Ld)
  bool shadow_valid_ = false;
  double phase_seconds_[kPhases] = {0, 0, 0, 0};
  ThreadTeam team_;
};

}  // namespace fcnet

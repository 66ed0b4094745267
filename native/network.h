// One engine for any stack of fully connected layers, as a list of ops walked forward then backward (darknet's
// forward_network / backward_network, llm.c's gpt2_forward / gpt2_backward), on a team of threads:
//   Linear(sizes[0] → sizes[1]) → activation → dropout → Linear → ... → Linear (logits) → loss.
// Every product is split into tiles fixed by the shapes (linear_tiles.h) that the whole team takes in turn, so
// any thread count gives the same bits. The first Linear has a second path for inputs that are mostly zeros
// (sparse_tiles.h), chosen per batch from the batch's measured density; there the input transform
// x' = (x − mean) / std is folded so that the zeros stay zeros: the inputs are scaled by 1/σ as the tiles lay them
// out, and the mean goes into the bias and the gradient:
//   forward   W·x' + b = W·(x/σ) + (b − W·(μ/σ))
//   gradient  dW[j,k] = Σ_b dh[b,j]·(x[b,k]/σ_k) − (μ_k/σ_k)·Σ_b dh[b,j]
// Parameters, gradients and the optimizer's state stay in the caller's flat buffers in PyTorch's layout and
// state_dict order, except on the sparse path: there the engine holds fc1.weight and its state transposed, (I, ·),
// so that the optimizer runs as a flat loop over rows the forward reads, and keeps them from step to step;
// write_back() (the caller's download) copies them out, the dense path takes them back first, and the weight
// gradient of the last sparse step waits inside for download_gradients().
// Nothing is allocated and no thread starts until the network is first used.
// Dimension letters: B batch, I inputs, H the first layer's outputs, Hp = H padded to whole chunks, O a layer's
// outputs, C classes, K outputs per row of float targets, N dataset rows.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "activations.h"
#include "adam_math.h"
#include "optimizer_math.h"
#include "linear_tiles.h"
#include "losses.h"
#include "parameters.h"
#include "thread_team.h"

namespace fcnet {

struct NetworkSpec {
  std::vector<int> sizes;            // layer widths, input first
  Activation activation = Activation::kRelu;
  float negative_slope = 0.01f;
  double dropout = 0.0;              // p in [0, 1)
  Loss loss = Loss::kCrossEntropy;
  std::vector<float> class_weights;  // (C) or empty
  std::vector<float> input_mean;     // (I) or empty (then input_std is empty too)
  std::vector<float> input_std;      // (I)
};

// Where a batch's rows come from: pixels (N, I) scaled by 1/255, or features (N, I). Targets: labels (N) checked to
// lie in [0, C) for cross-entropy, else values (N, K). image_width: pixels per image row when each row is an image
// (I a whole number of such rows), else 0; it groups neighbouring pixels in the sparse gradient (column_groups.h),
// which changes its speed, not its results.
struct DataSource {
  int image_width = 0;
  const uint8_t* pixels = nullptr;
  const float* features = nullptr;
  const int32_t* labels = nullptr;
  const float* values = nullptr;
};

// Dropout for one training step: drawn from the hash with (seed, step), or given (B, O) per hidden layer, layer
// after layer; none when the network has p = 0 or for evaluation.
struct DropoutSource {
  uint32_t seed = 0, step = 0;
  const uint8_t* masks = nullptr;
};

class Network {
 public:
  // Throws std::length_error (with the estimate) when the parameters, their gradients and moments and the scratch
  // would not fit in this machine's memory.
  Network(const NetworkSpec& spec, int max_batch, int threads, bool reference = false);
  ~Network();

  // Bytes a network needs: 4 parameter-sized buffers (held by the caller) and the engine's scratch.
  static double estimate_bytes(const NetworkSpec& spec, int max_batch);

  // The batch's rows of the dataset: the caller copies and checks them here before train_batch (max_batch each).
  int32_t* staged_indices();
  int32_t* staged_labels();  // labels[indices[r]], cross-entropy only

  // One step on the staged rows: gather, forward, loss, backward, the optimizer (Adam, AdamW or SGD; SGD's momentum
  // buffer in p.m). Returns the batch's mean loss; when it is not finite, nothing is updated.
  double train_batch(const ParameterPointers& p, const DataSource& data, int B, const OptimizerHyper& hyper,
                     int64_t step, const DropoutSource& dropout);
  // Forward and backward on x (B, I) with the staged labels or values (B, K): writes every gradient into p.grads.
  double compute_gradients(const ParameterPointers& p, const float* x, const float* values, int B,
                           const DropoutSource& dropout);
  // One Adam step of every parameter from p.grads (a flat loop).
  void adam_step(const ParameterPointers& p, const AdamHyper& hyper, int64_t step);
  // logits (n, C) of x (n, I) in evaluation mode, in batches of at most max_batch.
  void forward(const float* params, const float* x, int64_t n, float* logits);
  // Over rows [0, n) of data in order: Σ over batches of (batch mean loss · batch rows), and (cross-entropy) how
  // many rows' largest logit is their label.
  void evaluate(const float* params, const DataSource& data, int64_t n, double* loss_sum, int64_t* correct);

  // The last sparse step kept fc1.weight's gradient inside: writes it into grads in PyTorch's layout.
  void download_gradients(float* grads);
  // Whether fc1.weight and its moments are held inside (the caller's copies stale until write_back).
  bool holds_first_layer() const { return inside_; }
  // Writes what the engine holds of fc1 (weight, exp_avg, exp_avg_sq) into p, the buffers the steps were given,
  // and keeps holding it.
  void write_back(const ParameterPointers& p);
  // write_back, then the caller's buffers are the truth again.
  void release_first_layer(const ParameterPointers& p);
  // The caller changed its buffers: anything held or copied of fc1 is stale.
  void invalidate_shadow() {
    shadow_valid_ = false;
    inside_ = false;
  }

  static constexpr int kPhases = 5;  // gather, forward, loss + backward, first layer's gradient, the optimizer
  const double* phase_seconds() const { return phase_seconds_; }
  void reset_phase_seconds();
  // How many of the steps since the last reset took the sparse path.
  int64_t sparse_steps() const { return sparse_steps_; }
  int64_t steps() const { return steps_; }

  int threads() const { return threads_; }
  int max_batch() const { return max_batch_; }
  const NetworkSpec& spec() const { return spec_; }
  size_t parameter_count() const { return parameter_count_; }
  bool started() const { return team_ != nullptr; }

 private:
  struct Layer;
  struct Scratch;
  void ensure_started();
  void gather(const DataSource& data, const int32_t* indices, int B, bool with_targets);
  double forward_walk(const float* params, int B, bool training, bool with_loss, const DropoutSource& dropout);
  void backward_walk(const ParameterPointers& p, int B);
  void order_rows_for_groups(int B, bool by_class);
  void first_layer_sparse_forward(const float* params, int B, bool training);
  void first_layer_sparse_gradient(const ParameterPointers& p, int B);
  void use_column_groups(int image_width);
  void merge_column_block(int m, int B);
  void step_sparse(const ParameterPointers& p, const StepConstants& c);
  void rebuild_shadow(const float* params);
  void take_first_layer(const ParameterPointers& p);
  void fold_block(int block);
  const float* fold_scale() const;
  void sync_host_weights(const float* params);
  void check_owner(const float* params) const;
  ForwardEpilogue forward_epilogue(int l, const float* bias) const;
  BackwardEpilogue backward_epilogue(int l) const;
  void set_dropout(Layer& layer, int B, bool training, const DropoutSource& dropout, int hidden_index);
  void loss_rows(int r0, int r1, float grad_scale, bool with_gradient);
  void lap(int phase);

  const NetworkSpec spec_;
  const int max_batch_, threads_;
  const bool reference_;
  const int L_;  // linear layers
  const bool thin_last_;  // the last layer takes the thin path (thin_linear.h)
  size_t parameter_count_ = 0;
  std::vector<size_t> weight_offset_, bias_offset_;
  std::unique_ptr<Scratch> s_;
  std::unique_ptr<ThreadTeam> team_;
  bool shadow_valid_ = false;             // w1t (and the fold's copy) are fc1.weight's current values
  const float* shadow_params_ = nullptr;  // the buffer the shadow was made from: another one makes it stale too
  bool inside_ = false;                   // w1t, m1t, v1t are the truth for fc1, not the caller's buffers
  bool host_weights_current_ = true;      // while inside_: the caller's fc1.weight equals w1t
  bool host_moments_current_ = true;      // ... and its exp_avg, exp_avg_sq equal m1t, v1t
  bool gradients_inside_ = false;
  bool last_sparse_ = false;
  double phase_seconds_[kPhases] = {0, 0, 0, 0, 0};
  int64_t sparse_steps_ = 0, steps_ = 0;
  int64_t mark_ns_ = 0;
};

// Above this fraction of non-zero inputs in a batch the first layer takes the dense product.
constexpr double kSparseDensityLimit = 0.5;

}  // namespace fcnet

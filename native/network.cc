#include "network.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "aligned.h"
#include "dropout_mask.h"
#include "gemm.h"
#include "optimizer_loops.h"
#include "simd.h"
#include "sparse_tiles.h"
#include "thin_linear.h"

namespace fcnet {

// One linear op with what follows it (activation and dropout on a hidden layer, the loss on the last), its scratch
// and its views into the flat buffers.
struct Network::Layer {
  int I = 0, O = 0;
  int ld = 0;                  // row stride of every (·, O) buffer below
  bool hidden = false;
  AlignedFloats out;      // (max_batch, ld) the activation's output y, or the logits
  AlignedFloats pre;      // (max_batch, ld) the pre-activation, when the activation's derivative needs it
  AlignedFloats dropped;  // (max_batch, ld) y after dropout
  std::vector<uint8_t> mask;   // (max_batch, O) dropout's mask, 1 = kept
  AlignedFloats grad;    // (max_batch, ld) the loss's gradient with respect to the pre-activation
  DropoutOp dropout;           // this step's
  // What the next layer reads.
  const float* output() const { return dropout.p != 0.0 ? dropped.data() : out.data(); }
};

// Everything a step needs besides the parameters, allocated on first use.
struct Network::Scratch {
  std::vector<Layer> layers;
  std::vector<int32_t> indices;      // (max_batch) the batch's rows, copied and checked by the caller
  std::vector<int32_t> labels;       // (max_batch)
  std::vector<float> values;         // (max_batch, K)
  std::vector<uint8_t> pixels;       // (max_batch, I) the batch as gathered, uint8 datasets
  std::vector<float> features;       // (max_batch, I) the batch as gathered, float datasets
  std::vector<float> x;              // (max_batch, I) the dense path's input, transformed
  std::vector<int64_t> row_nonzero;  // (max_batch)
  std::vector<uint64_t> row_masks;   // (max_batch, mask_words(I)) where each gathered row's inputs are non-zero
  std::vector<double> row_loss;      // (max_batch)
  std::vector<float> inv_std;        // (I) 1 / std, when the spec has an input transform
  std::vector<float> fold_coef;      // (I) mean / std, when the spec has an input transform
  bool pixels_batch = false;         // which of pixels / features holds this batch
  float grad_scale = 0.0f;           // 1 / the loss's denominator
  double denominator = 1.0;
  // The sparse first layer's (allocated at the first sparse batch).
  bool sparse_ready = false;
  int Hp = 0, Ld = 0;
  std::vector<int32_t> order, group_count, group_index, column_count, column_row;
  ColumnGroups columns;                           // the gradient's groups of inputs (for the last image width)
  std::vector<int32_t> first_nonzero, by_first;  // (max_batch) each row's first non-zero input; the rows by it
  std::vector<int32_t> sort_start;                // the counting sorts' bucket starts
  std::vector<float> group_value, column_value;
  AlignedFloats b1;     // (Hp) the first layer's bias as the tiles add it (folded: b − W·(μ/σ))
  AlignedFloats bfold;  // (row blocks, Ld) W·(μ/σ) over each kFoldRows block of inputs (folded transform only)
  AlignedFloats w1t;    // (I, Ld) fc1.weight transposed
  AlignedFloats m1t;    // (I, Ld) fc1.weight's exp_avg transposed, while held inside
  AlignedFloats v1t;    // (I, Ld) fc1.weight's exp_avg_sq transposed, while held inside
  AlignedFloats dw1t;   // (I, Ld) Σ_b x[b,k]·dh[b,j], transposed (before the transform's correction)
};

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool has_transform(const NetworkSpec& s) { return !s.input_mean.empty(); }

int padded_width(int H) { return (H + kChunk - 1) / kChunk * kChunk; }

int fold_blocks(int I) { return (I + kFoldRows - 1) / kFoldRows; }

// The sparse first layer's column merge, in this many tasks: enough for the team to even out.
constexpr int kMergeBlocks = 8;

// Runs tasks [0, n) on the whole team, each member taking the next untaken one.
template <typename F>
void run_tasks(ThreadTeam& team, int n, const F& task) {
  if (n <= 0) return;
  if (team.size() == 1 || n == 1) {
    for (int t = 0; t < n; t++) task(t);
    return;
  }
  std::atomic<int> next{0};
  team.run([&](int, int) {
    for (int t = next.fetch_add(1, std::memory_order_relaxed); t < n; t = next.fetch_add(1, std::memory_order_relaxed))
      task(t);
  });
}

}  // namespace

double Network::estimate_bytes(const NetworkSpec& spec, int max_batch) {
  const int L = (int)spec.sizes.size() - 1;
  double params = 0, scratch = 0;
  const double B = max_batch, I = spec.sizes[0], H = spec.sizes[1];
  for (int l = 0; l < L; l++) {
    params += (double)spec.sizes[l] * spec.sizes[l + 1] + spec.sizes[l + 1];
    const double O = l == 0 ? padded_width(spec.sizes[1]) + 16 : spec.sizes[l + 1];
    const bool hidden = l + 1 < L;
    double per_row = 2 * O;  // out, grad
    if (hidden && activation_needs_input(spec.activation)) per_row += O;
    if (hidden && spec.dropout > 0) per_row += O + O / 4;
    scratch += 4 * B * per_row;
  }
  scratch += B * (I * 9 + spec.sizes[L] * 4 + 32);                // pixels, features, x, targets, per-row values
  const double Hp = padded_width((int)H) + 16;
  scratch += 4 * (4 * I * Hp + (2 + fold_blocks((int)I)) * Hp);  // the sparse path's (I, Hp) matrices and vectors
  // Row groups' merged inputs; column groups' (at most one per 4 inputs: strips of 4, patches of 6 over 2 rows).
  scratch += 4 * ((B / kRowGroup + 1) * I * (1 + kRowGroup) + (I / 4 + 1) * B * (1 + kMaxGroupInputs));
  return 4 * 4 * params + scratch;
}

Network::Network(const NetworkSpec& spec, int max_batch, int threads, bool reference)
    : spec_(spec), max_batch_(max_batch), threads_(threads < 1 ? 1 : threads), reference_(reference),
      L_((int)spec.sizes.size() - 1),
      thin_last_(!reference && spec.sizes.back() <= kThinOutputs) {
  size_t offset = 0;
  for (int l = 0; l < L_; l++) {
    weight_offset_.push_back(offset);
    offset += (size_t)spec.sizes[l] * spec.sizes[l + 1];
    bias_offset_.push_back(offset);
    offset += spec.sizes[l + 1];
  }
  parameter_count_ = offset;
  const double need = estimate_bytes(spec, max_batch);
  const double have = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGE_SIZE);
  if (have > 0 && need > have) {
    char text[256];
    std::snprintf(text, sizeof text,
                  "needs about %.1f GiB (parameters, gradients, Adam's moments and scratch) but this machine has %.1f GiB "
                  "of memory",
                  need / (1u << 30), have / (1u << 30));
    throw std::length_error(text);
  }
}

Network::~Network() = default;

void Network::ensure_started() {
  // The team's members each run one single-threaded product at a time: the BLAS must not start threads of its own
  // (another caller, such as the addon's setThreads, may have raised its count since the last step).
  if (gemm_threads() != 1) set_gemm_threads(1);
  if (team_) return;
  auto s = std::make_unique<Scratch>();
  const int B = max_batch_, I = spec_.sizes[0];
  s->layers.resize(L_);
  for (int l = 0; l < L_; l++) {
    Layer& layer = s->layers[l];
    layer.I = spec_.sizes[l];
    layer.O = spec_.sizes[l + 1];
    layer.hidden = l + 1 < L_;
    // The first layer's rows are padded for the sparse tiles, which write whole chunks; the
    // 16 floats more keep rows off a power-of-two stride (see sparse_tiles.h).
    layer.ld = l == 0 ? padded_width(layer.O) + 16 : layer.O;
    layer.out.assign((size_t)B * layer.ld, 0.0f);
    layer.grad.assign((size_t)B * layer.ld, 0.0f);
    if (layer.hidden && activation_needs_input(spec_.activation)) layer.pre.assign((size_t)B * layer.ld, 0.0f);
    if (layer.hidden && spec_.dropout > 0) {
      layer.dropped.assign((size_t)B * layer.ld, 0.0f);
      layer.mask.assign((size_t)B * layer.O, 1);
    }
  }
  const int K = spec_.sizes.back();
  s->indices.assign(B, 0);
  s->labels.assign(B, 0);
  if (!loss_takes_labels(spec_.loss)) s->values.assign((size_t)B * K, 0.0f);
  s->row_nonzero.assign(B, 0);
  s->row_masks.assign((size_t)B * mask_words(I), 0);
  s->row_loss.assign(B, 0.0);
  if (has_transform(spec_)) {
    s->inv_std.resize(I);
    s->fold_coef.resize(I);
    for (int k = 0; k < I; k++) {
      s->inv_std[k] = 1.0f / spec_.input_std[k];
      s->fold_coef[k] = spec_.input_mean[k] * s->inv_std[k];
    }
  }
  s_ = std::move(s);
  team_ = std::make_unique<ThreadTeam>(threads_);
}

int32_t* Network::staged_indices() {
  ensure_started();
  return s_->indices.data();
}

int32_t* Network::staged_labels() {
  ensure_started();
  return s_->labels.data();
}

void Network::reset_phase_seconds() {
  for (double& p : phase_seconds_) p = 0.0;
  sparse_steps_ = steps_ = 0;
}

void Network::lap(int phase) {
  const int64_t now = now_ns();
  phase_seconds_[phase] += (double)(now - mark_ns_) * 1e-9;
  mark_ns_ = now;
}

// Copies the batch's rows (and float targets) into the scratch and counts their non-zero inputs; then decides the
// first layer's path and lays the inputs out for it.
void Network::gather(const DataSource& data, const int32_t* indices, int B, bool with_targets) {
  Scratch& s = *s_;
  const int I = spec_.sizes[0], K = spec_.sizes.back();
  s.pixels_batch = data.pixels != nullptr;
  if (s.pixels_batch && s.pixels.empty()) s.pixels.assign((size_t)max_batch_ * I, 0);
  if (!s.pixels_batch && s.features.empty()) s.features.assign((size_t)max_batch_ * I, 0.0f);
  const bool values = with_targets && !loss_takes_labels(spec_.loss);
  constexpr int kRows = 8;
  const size_t row_bytes = (size_t)I * (s.pixels_batch ? 1 : sizeof(float));
  const uint8_t* base = s.pixels_batch ? data.pixels : reinterpret_cast<const uint8_t*>(data.features);
  team_->run([&](int member, int team) {
    // The rows lie anywhere in the dataset (a shuffled order): each member asks for its rows kRows ahead of the
    // one it copies, so that their misses overlap rather than come one row after another.
    long r0, r1;
    split_range(B, member, team, &r0, &r1);
    auto ask = [&](long r) { prefetch_bytes(base + (size_t)indices[r] * row_bytes, row_bytes); };
    for (long r = r0; r < std::min(r1, r0 + kRows); r++) ask(r);
    for (long r = r0; r < r1; r++) {
      if (r + kRows < r1) ask(r + kRows);
      const size_t src = (size_t)indices[r];
      int64_t nonzero = 0;
      if (s.pixels_batch) {
        const uint8_t* in = data.pixels + src * I;
        uint8_t* out = s.pixels.data() + (size_t)r * I;
        std::memcpy(out, in, I);
        nonzero = nonzero_mask(s.row_masks.data() + (size_t)r * mask_words(I), out, I);
      } else {
        const float* in = data.features + src * I;
        float* out = s.features.data() + (size_t)r * I;
        std::memcpy(out, in, sizeof(float) * I);
        nonzero = nonzero_mask(s.row_masks.data() + (size_t)r * mask_words(I), out, I);
      }
      s.row_nonzero[r] = nonzero;
      if (with_targets && data.labels != nullptr) s.labels[r] = data.labels[src];
      if (values) std::memcpy(s.values.data() + (size_t)r * K, data.values + src * K, sizeof(float) * K);
    }
  });
  int64_t nonzero = 0;
  for (int r = 0; r < B; r++) nonzero += s.row_nonzero[r];
  last_sparse_ = !reference_ && (double)nonzero <= kSparseDensityLimit * (double)B * I;
  if (with_targets) {
    if (loss_takes_labels(spec_.loss)) {
      double sum = B;
      if (!spec_.class_weights.empty()) {
        sum = 0.0;
        for (int r = 0; r < B; r++) sum += spec_.class_weights[s.labels[r]];
      }
      s.denominator = sum;
    } else {
      s.denominator = (double)B * K;
    }
    s.grad_scale = (float)(1.0 / s.denominator);
  }
  if (last_sparse_) return;  // the sparse forward merges the rows itself
  if (s.x.empty()) s.x.assign((size_t)max_batch_ * I, 0.0f);
  const bool transform = has_transform(spec_);
  run_tasks(*team_, (B + kRows - 1) / kRows, [&](int t) {
    for (int r = t * kRows; r < std::min(B, (t + 1) * kRows); r++) {
      float* x = s.x.data() + (size_t)r * I;
      if (s.pixels_batch) {
        const uint8_t* p = s.pixels.data() + (size_t)r * I;
        for (int k = 0; k < I; k++) x[k] = (float)p[k] / 255.0f;
      } else {
        std::memcpy(x, s.features.data() + (size_t)r * I, sizeof(float) * I);
      }
      if (transform)
        for (int k = 0; k < I; k++) x[k] = (x[k] - spec_.input_mean[k]) / spec_.input_std[k];
    }
  });
}

void Network::set_dropout(Layer& layer, int B, bool training, const DropoutSource& dropout, int hidden_index) {
  layer.dropout = DropoutOp{};
  if (!layer.hidden || spec_.dropout <= 0.0 || !training) return;  // evaluation: the identity
  layer.dropout.p = spec_.dropout;
  layer.dropout.mask = layer.mask.data();
  layer.dropout.layer = (uint32_t)hidden_index;
  layer.dropout.scale = 1.0f / (float)(1.0 - spec_.dropout);
  if (dropout.masks != nullptr) {
    layer.dropout.mask_given = true;
    const uint8_t* given = dropout.masks;
    for (int h = 0; h < hidden_index; h++) given += (size_t)B * spec_.sizes[h + 1];
    for (size_t i = 0; i < (size_t)B * layer.O; i++) layer.mask[i] = given[i] != 0;
  } else {
    layer.dropout.seed = dropout.seed;
    layer.dropout.step = dropout.step;
  }
}

// Rows [r0, r1) of the loss, from the last layer's logits: each row's loss into row_loss, and its gradient.
void Network::loss_rows(int r0, int r1, float grad_scale, bool with_gradient) {
  Scratch& s = *s_;
  Layer& last = s.layers[L_ - 1];
  const int K = last.O;
  const bool labels = loss_takes_labels(spec_.loss);
  for (int r = r0; r < r1; r++) {
    const int32_t label = labels ? s.labels[r] : 0;
    const float weight = labels && !spec_.class_weights.empty() ? spec_.class_weights[label] : 1.0f;
    s.row_loss[r] = loss_row(spec_.loss, with_gradient ? last.grad.data() + (size_t)r * last.ld : nullptr,
                             last.out.data() + (size_t)r * last.ld, label, weight,
                             labels ? nullptr : s.values.data() + (size_t)r * K, K, grad_scale);
  }
}

double Network::forward_walk(const float* params, int B, bool training, bool with_loss, const DropoutSource& dropout) {
  Scratch& s = *s_;
  for (int l = 0; l < L_; l++) {
    Layer& layer = s.layers[l];
    set_dropout(layer, B, training, dropout, l);
    if (l == 0 && last_sparse_) {
      first_layer_sparse_forward(params, B, training);
      continue;
    }
    if (l == 0) sync_host_weights(params);  // the dense product reads fc1.weight in the caller's layout
    const float* x = l == 0 ? s.x.data() : s.layers[l - 1].output();
    const int ld_x = l == 0 ? layer.I : s.layers[l - 1].ld;
    const ForwardEpilogue e = forward_epilogue(l, params + bias_offset_[l]);
    const float* w = params + weight_offset_[l];
    if (!layer.hidden && thin_last_) {
      // Row by row: logits, the loss, and (training) the gradient at the layer below, while the row is hot.
      const bool input_gradient = training && with_loss && l > 0;
      const BackwardEpilogue below = input_gradient ? backward_epilogue(l) : BackwardEpilogue{};
      constexpr int kRows = 8;
      run_tasks(*team_, (B + kRows - 1) / kRows, [&](int t) {
        const int r0 = t * kRows, r1 = std::min(B, r0 + kRows);
        thin_forward_rows(layer.out.data(), layer.ld, x, ld_x, w, params + bias_offset_[l], layer.I, layer.O, r0, r1);
        if (!with_loss) return;
        loss_rows(r0, r1, s.grad_scale, training);
        if (input_gradient)
          thin_backward_input_rows(s.layers[l - 1].grad.data(), s.layers[l - 1].ld, layer.grad.data(), layer.ld, w,
                                   layer.O, layer.I, below, r0, r1);
      });
      continue;
    }
    const TilePlan plan = plan_tiles(B, layer.O, layer.I, !layer.hidden);
    run_tasks(*team_, plan.count(), [&](int t) {
      int r0, r1, c0, c1;
      plan.tile(t, &r0, &r1, &c0, &c1);
      linear_forward_tile(layer.out.data(), layer.ld, x, ld_x, w, layer.I, e, r0, r1, c0, c1, reference_);
      if (!layer.hidden && with_loss) loss_rows(r0, r1, s.grad_scale, training);  // the whole row is this tile's
    });
  }
  if (!with_loss) return 0.0;
  if (L_ == 1 && last_sparse_) {  // the logits came from the sparse tiles: the loss on its own
    constexpr int kRows = 16;
    run_tasks(*team_, (B + kRows - 1) / kRows,
              [&](int t) { loss_rows(t * kRows, std::min(B, (t + 1) * kRows), s.grad_scale, training); });
  }
  double sum = 0.0;
  for (int r = 0; r < B; r++) sum += s.row_loss[r];
  return sum / s.denominator;
}

void Network::backward_walk(const ParameterPointers& p, int B) {
  Scratch& s = *s_;
  for (int l = L_ - 1; l >= 0; l--) {
    Layer& layer = s.layers[l];
    if (l == 0 && last_sparse_) {
      first_layer_sparse_gradient(p, B);
      continue;
    }
    const float* x = l == 0 ? s.x.data() : s.layers[l - 1].output();
    const int ld_x = l == 0 ? layer.I : s.layers[l - 1].ld;
    const float* w = p.params + weight_offset_[l];
    float* dw = p.grads + weight_offset_[l];
    float* db = p.grads + bias_offset_[l];
    // A thin last layer's input gradient was computed with its loss; its weight gradient goes by blocks of columns.
    const bool thin = !layer.hidden && thin_last_;
    constexpr int kThinColumns = 64;
    const TilePlan weights = thin ? TilePlan{1, layer.I, 1, kThinColumns} : plan_tiles(layer.O, layer.I, B, false);
    Layer* below = l > 0 && !thin ? &s.layers[l - 1] : nullptr;
    const TilePlan inputs = below != nullptr ? plan_tiles(B, layer.I, layer.O, false) : TilePlan{0, 0, 1, 1};
    const BackwardEpilogue e = below != nullptr ? backward_epilogue(l) : BackwardEpilogue{};
    // The sparse first layer's inputs are laid out by column meanwhile, in blocks of column groups.
    const bool merge = l == 1 && last_sparse_;
    const int merges = merge ? kMergeBlocks : 0;
    const int nw = weights.count(), nx = below ? inputs.count() : 0;
    run_tasks(*team_, nw + nx + merges, [&](int t) {
      int r0, r1, c0, c1;
      if (t < nw) {
        weights.tile(t, &r0, &r1, &c0, &c1);
        if (thin)
          thin_backward_weight_cols(dw, db, layer.grad.data(), layer.ld, x, ld_x, B, layer.I, layer.O, c0, c1);
        else
          linear_backward_weight_tile(dw, db, layer.grad.data(), layer.ld, x, ld_x, B, layer.I, r0, r1, c0, c1,
                                      reference_);
      } else if (t < nw + nx) {
        inputs.tile(t - nw, &r0, &r1, &c0, &c1);
        linear_backward_input_tile(below->grad.data(), below->ld, layer.grad.data(), layer.ld, w, layer.O, layer.I, e,
                                   r0, r1, c0, c1, reference_);
      } else {
        merge_column_block(t - nw - nx, B);
      }
    });
  }
}

// Layer l's forward epilogue (linear_tiles.h): its activation, pre-activation and dropout; bias null when the
// product has it already.
ForwardEpilogue Network::forward_epilogue(int l, const float* bias) const {
  Layer& layer = s_->layers[l];  // the scratch it writes into
  ForwardEpilogue e;
  e.bias = bias;
  e.hidden = layer.hidden;
  e.activation = spec_.activation;
  e.slope = spec_.negative_slope;
  e.pre = layer.pre.empty() ? nullptr : layer.pre.data();
  e.dropped = layer.dropped.empty() ? nullptr : layer.dropped.data();
  e.dropout = layer.dropout;
  e.O = layer.O;
  return e;
}

// The input gradient's epilogue for the layer below layer l: its dropout mask and its activation's derivative.
BackwardEpilogue Network::backward_epilogue(int l) const {
  const Layer& below = s_->layers[l - 1];
  BackwardEpilogue e;
  e.apply = true;
  e.activation = spec_.activation;
  e.slope = spec_.negative_slope;
  e.x_or_y = activation_needs_input(spec_.activation) ? below.pre.data() : below.out.data();
  if (below.dropout.p != 0.0) {
    e.mask = below.mask.data();
    e.scale = below.dropout.scale;
  }
  e.O = below.O;
  return e;
}

void Network::check_owner(const float* params) const {
  // The binding releases fc1 into the buffers it came from before any call with other buffers.
  if (inside_ && params != shadow_params_)
    throw std::logic_error("Network: fc1 is held for other buffers than the ones given; release it first");
}

// What the sparse path multiplies each input by: 1/σ with a transform, else nothing.
const float* Network::fold_scale() const { return has_transform(spec_) ? s_->inv_std.data() : nullptr; }

// The folded transform's bias part of one block of kFoldRows inputs (optimizer_loops.h).
void Network::fold_block(int block) {
  Scratch& s = *s_;
  const int I = spec_.sizes[0], H = spec_.sizes[1];
  const int k0 = block * kFoldRows, k1 = std::min(I, k0 + kFoldRows);
  fold_rows(s.w1t.data(), s.bfold.data() + (size_t)block * s.Ld, s.fold_coef.data(), k0, k1, 0, H, s.Ld);
}

void Network::rebuild_shadow(const float* params) {
  check_owner(params);
  Scratch& s = *s_;
  const int I = spec_.sizes[0], H = spec_.sizes[1];
  const float* w1 = params + weight_offset_[0];
  const bool transform = has_transform(spec_);
  run_tasks(*team_, (H + 31) / 32, [&](int t) {
    const int j0 = t * 32, j1 = std::min(H, j0 + 32);
    for (int k0 = 0; k0 < I; k0 += 32)
      for (int j = j0; j < j1; j++)
        for (int k = k0; k < std::min(I, k0 + 32); k++) s.w1t[(size_t)k * s.Ld + j] = w1[(size_t)j * I + k];
  });
  if (transform)  // after the whole transpose: a block of rows spans every column
    run_tasks(*team_, fold_blocks(I), [&](int b) { fold_block(b); });
  shadow_valid_ = true;
  shadow_params_ = params;
}

// Copies fc1.weight's moments in, transposed as the weights: from now on the engine holds fc1.
void Network::take_first_layer(const ParameterPointers& p) {
  Scratch& s = *s_;
  const int I = spec_.sizes[0], H = spec_.sizes[1];
  if (s.m1t.empty() || s.v1t.empty()) {  // both or neither: an allocation that fails leaves them as they were
    AlignedFloats m((size_t)I * s.Ld, 0.0f), v((size_t)I * s.Ld, 0.0f);
    s.m1t.swap(m);
    s.v1t.swap(v);
  }
  const float* m = p.m + weight_offset_[0];
  const float* v = p.v + weight_offset_[0];
  run_tasks(*team_, (H + 31) / 32, [&](int t) {
    const int j0 = t * 32, j1 = std::min(H, j0 + 32);
    for (int k0 = 0; k0 < I; k0 += 32)
      for (int j = j0; j < j1; j++)
        for (int k = k0; k < std::min(I, k0 + 32); k++) {
          s.m1t[(size_t)k * s.Ld + j] = m[(size_t)j * I + k];
          s.v1t[(size_t)k * s.Ld + j] = v[(size_t)j * I + k];
        }
  });
  inside_ = true;
  host_weights_current_ = host_moments_current_ = true;  // the shadow was made from p.params, or written back there
}

// (I, Ld) transposed → (H, I) rows, on the team.
namespace {
void transpose_out(ThreadTeam& team, const float* t, float* out, int I, int H, int ld) {
  run_tasks(team, (H + 31) / 32, [&](int b) {
    const int j0 = b * 32, j1 = std::min(H, j0 + 32);
    for (int k0 = 0; k0 < I; k0 += 32)
      for (int j = j0; j < j1; j++)
        for (int k = k0; k < std::min(I, k0 + 32); k++) out[(size_t)j * I + k] = t[(size_t)k * ld + j];
  });
}
}  // namespace

void Network::sync_host_weights(const float* params) {
  if (!inside_ || host_weights_current_) return;
  check_owner(params);
  transpose_out(*team_, s_->w1t.data(), const_cast<float*>(params) + weight_offset_[0], spec_.sizes[0],
                spec_.sizes[1], s_->Ld);
  host_weights_current_ = true;
}

void Network::write_back(const ParameterPointers& p) {
  if (!inside_) return;
  check_owner(p.params);
  const int I = spec_.sizes[0], H = spec_.sizes[1];
  sync_host_weights(p.params);
  if (host_moments_current_) return;
  transpose_out(*team_, s_->m1t.data(), p.m + weight_offset_[0], I, H, s_->Ld);
  transpose_out(*team_, s_->v1t.data(), p.v + weight_offset_[0], I, H, s_->Ld);
  host_moments_current_ = true;
}

void Network::release_first_layer(const ParameterPointers& p) {
  write_back(p);
  inside_ = false;  // the shadow stays valid: the caller's weights equal it
}

// The order in which the sparse forward groups the batch's rows: rows of one class, and among them rows whose first
// non-zero input lies at the same place, share more of their non-zero inputs, so a group of neighbours in this order
// visits fewer positions (MNIST, batch 1000: 1.73 times the non-zero inputs against 1.90 by class alone and 2.17 in
// batch order). Two stable counting sorts: by first non-zero input, then by class when there are labels. The sums
// do not depend on it: each row's terms are added in the order of its inputs, whatever group it is in.
void Network::order_rows_for_groups(int B, bool by_class) {
  Scratch& s = *s_;
  const int I = spec_.sizes[0], words = mask_words(I);
  std::vector<int32_t>& start = s.sort_start;
  start.assign(I + 2, 0);
  for (int r = 0; r < B; r++) {
    const uint64_t* mask = s.row_masks.data() + (size_t)r * words;
    int w = 0;
    while (w < words && mask[w] == 0) w++;
    s.first_nonzero[r] = w < words ? w * 64 + __builtin_ctzll(mask[w]) : I;  // I: an all-zero row
    start[s.first_nonzero[r] + 1]++;
  }
  for (size_t k = 1; k < start.size(); k++) start[k] += start[k - 1];
  int32_t* by_first = by_class ? s.by_first.data() : s.order.data();
  for (int r = 0; r < B; r++) by_first[start[s.first_nonzero[r]]++] = r;
  if (!by_class) return;
  start.assign(spec_.sizes.back() + 1, 0);
  for (int r = 0; r < B; r++) start[s.labels[r] + 1]++;
  for (size_t c = 1; c < start.size(); c++) start[c] += start[c - 1];
  for (int i = 0; i < B; i++) s.order[start[s.labels[by_first[i]]]++] = by_first[i];
}

void Network::first_layer_sparse_forward(const float* params, int B, bool training) {
  Scratch& s = *s_;
  const int I = spec_.sizes[0], H = spec_.sizes[1];
  if (!s.sparse_ready) {
    s.Hp = padded_width(H);
    s.Ld = s.Hp + 16;
    const size_t row_groups = (max_batch_ + kRowGroup - 1) / kRowGroup;
    s.order.assign(max_batch_, 0);
    s.first_nonzero.assign(max_batch_, 0);
    s.by_first.assign(max_batch_, 0);
    s.group_count.assign(row_groups, 0);
    s.group_index.assign(row_groups * I, 0);
    s.group_value.assign(row_groups * I * kRowGroup, 0.0f);
    s.b1.assign(s.Hp, 0.0f);
    s.bfold.assign((size_t)fold_blocks(I) * s.Ld, 0.0f);
    s.w1t.assign((size_t)I * s.Ld, 0.0f);
    s.dw1t.assign((size_t)I * s.Ld, 0.0f);
    s.sparse_ready = true;
  }
  if (!shadow_valid_ || shadow_params_ != params) rebuild_shadow(params);
  const float* b = params + bias_offset_[0];
  if (has_transform(spec_)) {
    // W·(μ/σ), block after block of inputs, the same order whatever the thread count.
    for (int j = 0; j < H; j++) {
      float fold = 0.0f;
      for (int blk = 0; blk < fold_blocks(I); blk++) fold += s.bfold[(size_t)blk * s.Ld + j];
      s.b1[j] = b[j] - fold;
    }
  } else {
    for (int j = 0; j < H; j++) s.b1[j] = b[j];
  }
  order_rows_for_groups(B, loss_takes_labels(spec_.loss) && training);
  const int groups = (B + kRowGroup - 1) / kRowGroup;
  // Sixteen groups a task: a task then writes whole cache lines of group_count, and takes the shared counter
  // sixteen times less often.
  constexpr int kGroupsPerTask = 16;
  run_tasks(*team_, (groups + kGroupsPerTask - 1) / kGroupsPerTask, [&](int t) {
    for (int g = t * kGroupsPerTask; g < std::min(groups, (t + 1) * kGroupsPerTask); g++) {
      const int first = g * kRowGroup, n = std::min(kRowGroup, B - first);
      int32_t* index = s.group_index.data() + (size_t)g * I;
      float* value = s.group_value.data() + (size_t)g * I * kRowGroup;
      const int32_t* rows = s.order.data() + first;
      const uint64_t* masks = s.row_masks.data();
      s.group_count[g] = s.pixels_batch
                             ? merge_row_group(index, value, s.pixels.data(), rows, n, I, fold_scale(), masks)
                             : merge_row_group(index, value, s.features.data(), rows, n, I, fold_scale(), masks);
    }
  });
  Layer& layer = s.layers[0];
  const bool fused_relu = layer.hidden && spec_.activation == Activation::kRelu && layer.dropout.p == 0.0;
  // Each member computes every row for its half of the chunks of hidden units (a fixed split: handing (chunk, block
  // of groups) tasks to whoever is free measured slower).
  team_->run([&](int member, int team) {
    long c0, c1;
    split_range(s.Hp / kChunk, member, team, &c0, &c1);
    forward_row_groups(layer.out.data(), s.w1t.data(), s.b1.data(), s.order.data(), s.group_count.data(),
                       s.group_index.data(), s.group_value.data(), 0, groups, B, I, (int)c0 * kChunk, (int)c1 * kChunk,
                       s.Ld, fused_relu);
  });
  if (!layer.hidden || fused_relu) return;
  // Any other activation, or dropout: the dense tiles' epilogue, over rows, in place (the tiles added the bias).
  const ForwardEpilogue e = forward_epilogue(0, nullptr);
  constexpr int kRows = 8;
  run_tasks(*team_, (B + kRows - 1) / kRows, [&](int t) {
    forward_epilogue_rows(layer.out.data(), layer.ld, e, t * kRows, std::min(B, (t + 1) * kRows), 0, H);
  });
}

// The sparse gradient's groups of inputs for this batch's image width (made again only when it changes).
void Network::use_column_groups(int image_width) {
  Scratch& s = *s_;
  const int I = spec_.sizes[0];
  if (s.columns.count != 0 && s.columns.width == column_groups_width(I, image_width)) return;
  s.columns = make_column_groups(I, image_width);
  s.column_count.assign(s.columns.count, 0);
  s.column_row.assign((size_t)s.columns.count * max_batch_, 0);
  s.column_value.assign((size_t)s.columns.count * max_batch_ * s.columns.size, 0.0f);
}

// Block m of kMergeBlocks of the sparse first layer's column groups, laid out for its gradient.
void Network::merge_column_block(int m, int B) {
  Scratch& s = *s_;
  const int groups = s.columns.count;
  const int g0 = groups * m / kMergeBlocks, g1 = groups * (m + 1) / kMergeBlocks;
  if (s.pixels_batch)
    merge_column_groups(s.column_count.data(), s.column_row.data(), s.column_value.data(), s.pixels.data(), s.columns,
                        g0, g1, B, spec_.sizes[0], fold_scale(), s.row_masks.data());
  else
    merge_column_groups(s.column_count.data(), s.column_row.data(), s.column_value.data(), s.features.data(),
                        s.columns, g0, g1, B, spec_.sizes[0], fold_scale(), s.row_masks.data());
}

void Network::first_layer_sparse_gradient(const ParameterPointers& p, int B) {
  Scratch& s = *s_;
  const int H = spec_.sizes[1];
  Layer& layer = s.layers[0];
  if (L_ == 1)  // no layer above ran the column merge alongside its own backward
    run_tasks(*team_, kMergeBlocks, [&](int m) { merge_column_block(m, B); });
  lap(2);
  float* db = p.grads + bias_offset_[0];
  team_->run([&](int member, int team) {
    // Each member takes the chunks of hidden units its forward takes: the same entries, half the columns each.
    long h0, h1;
    split_range(s.Hp / kChunk, member, team, &h0, &h1);
    gradient_column_groups(s.dw1t.data(), db, layer.grad.data(), s.columns, s.column_count.data(),
                           s.column_row.data(), s.column_value.data(), 0, s.columns.count, B, H, (int)(h0 * kChunk),
                           (int)(h1 * kChunk), s.Ld);
  });
}

void Network::download_gradients(float* grads) {
  if (!gradients_inside_) return;
  Scratch& s = *s_;
  const int I = spec_.sizes[0], H = spec_.sizes[1];
  float* dw1 = grads + weight_offset_[0];
  const float* db = grads + bias_offset_[0];
  const bool transform = has_transform(spec_);
  constexpr int T = 32;
  for (int j0 = 0; j0 < H; j0 += T)
    for (int k0 = 0; k0 < I; k0 += T)
      for (int j = j0; j < std::min(H, j0 + T); j++)
        for (int k = k0; k < std::min(I, k0 + T); k++) {
          const float g = s.dw1t[(size_t)k * s.Ld + j];
          dw1[(size_t)j * I + k] = transform ? g - s.fold_coef[k] * db[j] : g;
        }
  gradients_inside_ = false;
}

// The optimizer after a sparse step: fc1.weight's on its transposed copy, held inside from the first sparse step
// on, and every other parameter's on the caller's buffers.
void Network::step_sparse(const ParameterPointers& p, const StepConstants& c) {
  Scratch& s = *s_;
  const int I = spec_.sizes[0], H = spec_.sizes[1];
  if (!inside_) take_first_layer(p);
  const bool transform = has_transform(spec_);
  FirstLayerFold fold;
  if (transform) fold = {s.fold_coef.data(), p.grads + bias_offset_[0]};
  team_->run([&](int member, int team) {
    // By rows, the same ones every step: each member's share of the three matrices stays in its core's caches,
    // and its loads stream through whole rows. (Measured against chunks of columns, the forward's split: 0.20
    // against 0.36–0.43 ms a step on two threads; the forward loses less than that reading rows the other core
    // wrote. Fused into the gradient's loop, group by group: slower still, waiting on L3.) Whole blocks of
    // kFoldRows rows, for the fold's partial sums.
    long b0, b1;
    split_range(fold_blocks(I), member, team, &b0, &b1);
    for (long blk = b0; blk < b1; blk++) {
      const int k0 = (int)blk * kFoldRows, k1 = std::min(I, k0 + kFoldRows);
      step_first_layer(s.w1t.data(), s.m1t.data(), s.v1t.data(), s.dw1t.data(), k0, k1, 0, H, s.Ld, c, fold);
      if (transform) fold_block((int)blk);  // while its rows are in cache
    }
    const size_t rest = (size_t)I * H;
    long i0, i1;
    split_range((long)(parameter_count_ - rest), member, team, &i0, &i1);
    step_range(p.params + rest + i0, p.grads + rest + i0, p.m + rest + i0, p.v + rest + i0, (size_t)(i1 - i0), c);
  });
  host_weights_current_ = host_moments_current_ = false;
}

double Network::train_batch(const ParameterPointers& p, const DataSource& data, int B, const OptimizerHyper& hyper,
                            int64_t step, const DropoutSource& dropout) {
  ensure_started();
  mark_ns_ = now_ns();
  gather(data, s_->indices.data(), B, true);
  if (last_sparse_) use_column_groups(data.image_width);
  lap(0);
  const double loss = forward_walk(p.params, B, true, true, dropout);
  lap(1);
  steps_++;
  if (!std::isfinite(loss)) return loss;  // nothing updated
  backward_walk(p, B);
  lap(last_sparse_ ? 3 : 2);
  const StepConstants c = step_constants(hyper, step);
  if (last_sparse_) {
    check_owner(p.params);
    sparse_steps_++;
    step_sparse(p, c);
    gradients_inside_ = true;
  } else {
    release_first_layer(p);
    team_->run([&](int member, int team) {
      long i0, i1;
      split_range((long)parameter_count_, member, team, &i0, &i1);
      step_range(p.params + i0, p.grads + i0, p.m + i0, p.v + i0, (size_t)(i1 - i0), c);
    });
    shadow_valid_ = false;
    gradients_inside_ = false;
  }
  lap(4);
  return loss;
}

double Network::compute_gradients(const ParameterPointers& p, const float* x, const float* values, int B,
                                  const DropoutSource& dropout) {
  ensure_started();
  mark_ns_ = now_ns();
  for (int r = 0; r < B; r++) s_->indices[r] = r;
  DataSource data;
  data.features = x;
  data.values = values;
  gather(data, s_->indices.data(), B, true);
  if (last_sparse_) use_column_groups(0);
  const double loss = forward_walk(p.params, B, true, true, dropout);
  backward_walk(p, B);
  gradients_inside_ = last_sparse_;
  download_gradients(p.grads);
  return loss;
}

void Network::adam_step(const ParameterPointers& p, const AdamHyper& hyper, int64_t step) {
  ensure_started();
  release_first_layer(p);
  OptimizerHyper adam;
  adam.adam = hyper;
  const StepConstants c = step_constants(adam, step);
  team_->run([&](int member, int team) {
    long i0, i1;
    split_range((long)parameter_count_, member, team, &i0, &i1);
    step_range(p.params + i0, p.grads + i0, p.m + i0, p.v + i0, (size_t)(i1 - i0), c);
  });
  shadow_valid_ = false;
}

void Network::forward(const float* params, const float* x, int64_t n, float* logits) {
  ensure_started();
  const int C = spec_.sizes.back();
  for (int64_t offset = 0; offset < n; offset += max_batch_) {
    const int B = (int)std::min<int64_t>(max_batch_, n - offset);
    for (int r = 0; r < B; r++) s_->indices[r] = r;
    DataSource data;
    data.features = x + (size_t)offset * spec_.sizes[0];
    gather(data, s_->indices.data(), B, false);
    forward_walk(params, B, false, false, DropoutSource{});
    const Layer& last = s_->layers[L_ - 1];
    for (int r = 0; r < B; r++)
      std::memcpy(logits + (size_t)(offset + r) * C, last.out.data() + (size_t)r * last.ld, sizeof(float) * C);
  }
}

void Network::evaluate(const float* params, const DataSource& data, int64_t n, double* loss_sum, int64_t* correct) {
  ensure_started();
  *loss_sum = 0.0;
  *correct = 0;
  const int C = spec_.sizes.back();
  for (int64_t offset = 0; offset < n; offset += max_batch_) {
    const int B = (int)std::min<int64_t>(max_batch_, n - offset);
    for (int r = 0; r < B; r++) s_->indices[r] = (int32_t)(offset + r);
    gather(data, s_->indices.data(), B, true);
    *loss_sum += forward_walk(params, B, false, true, DropoutSource{}) * B;
    if (!loss_takes_labels(spec_.loss)) continue;
    const Layer& last = s_->layers[L_ - 1];
    for (int r = 0; r < B; r++) {
      const float* z = last.out.data() + (size_t)r * last.ld;
      if (std::max_element(z, z + C) - z == s_->labels[r]) ++*correct;
    }
  }
}

}  // namespace fcnet

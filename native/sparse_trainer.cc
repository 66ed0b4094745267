#include "sparse_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "gemm.h"
#include "simd.h"

namespace fcnet {
namespace {

// Eight floats as one value, loadable from any float address.
typedef float v8f __attribute__((vector_size(32), aligned(4)));

inline v8f load8(const float* p) { return *reinterpret_cast<const v8f*>(p); }
inline void store8(float* p, v8f x) { *reinterpret_cast<v8f*>(p) = x; }

// Σ_j a[j]·b[j] in eight lanes, then the lanes in a fixed order: the same sum for a row whichever member runs it.
inline float dot(const float* __restrict a, const float* __restrict b, int n) {
  v8f acc = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 8 <= n; j += 8) acc += load8(a + j) * load8(b + j);
  float sum = 0.0f;
  for (int i = 0; i < 8; i++) sum += acc[i];
  for (; j < n; j++) sum += a[j] * b[j];
  return sum;
}

// out[q] = dot(w + q·n, b, n) for kDotBlock rows of w at once, each summed exactly as dot() sums it, with b
// loaded once for all of them.
constexpr int kDotBlock = 5;
inline void dot_block(float* out, const float* __restrict w, const float* __restrict b, int n) {
  v8f acc[kDotBlock] = {};
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const v8f x = load8(b + j);
    for (int q = 0; q < kDotBlock; q++) acc[q] += load8(w + (size_t)q * n + j) * x;
  }
  for (int q = 0; q < kDotBlock; q++) {
    float sum = 0.0f;
    for (int i = 0; i < 8; i++) sum += acc[q][i];
    for (int t = j; t < n; t++) sum += w[(size_t)q * n + t] * b[t];
    out[q] = sum;
  }
}

// The output layer of a two-layer network for one row h (H): logits z (C), the row's loss (returned, not yet
// divided by B), its gradient dz (C, divided by B), and the gradient at the hidden layer through the ReLU,
// dh (H). Rows are independent, so each member does its own rows right after their forward pass.
FCNET_CLONES
double output_layer_row(float* __restrict z, float* __restrict dz, float* __restrict dh, const float* __restrict h,
                        const float* __restrict w2 /* (C,H) */, const float* __restrict b2, int32_t label, int H, int C,
                        int B) {
  int o = 0;
  for (; o + kDotBlock <= C; o += kDotBlock) {
    float sums[kDotBlock];
    dot_block(sums, w2 + (size_t)o * H, h, H);
    for (int q = 0; q < kDotBlock; q++) z[o + q] = b2[o + q] + sums[q];
  }
  for (; o < C; o++) z[o] = b2[o] + dot(w2 + (size_t)o * H, h, H);
  const double loss = softmax_cross_entropy_row(dz, z, label, C, B);
  // dh = ReLU'(h) · Σ_o dz[o]·w2[o,:], summed over o in order, eight hidden units at a time in a register.
  int j = 0;
  for (; j + 8 <= H; j += 8) {
    v8f sum = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int q = 0; q < C; q++) sum += dz[q] * load8(w2 + (size_t)q * H + j);
    const v8f zero = {0, 0, 0, 0, 0, 0, 0, 0};
    store8(dh + j, load8(h + j) > zero ? sum : zero);
  }
  for (; j < H; j++) {
    float sum = 0.0f;
    for (int q = 0; q < C; q++) sum += dz[q] * w2[(size_t)q * H + j];
    dh[j] = h[j] > 0.0f ? sum : 0.0f;
  }
  return loss;
}

// Columns [j0, j1) of the output layer's weight gradient dw2 (C,H) = Σ_r dz[r,:]ᵀ·h[r,:], and of fc1.bias's
// gradient db1 = Σ_r dh[r,:], summed over the rows in order (so any split of the columns gives the same sums).
// h and dh are (B, ld).
FCNET_CLONES
void output_layer_gradients(float* __restrict dw2, float* __restrict db1, const float* __restrict dz,
                            const float* __restrict h, const float* __restrict dh, int B, int H, int ld, int C, int j0,
                            int j1) {
  for (int o = 0; o < C; o++) std::fill(dw2 + (size_t)o * H + j0, dw2 + (size_t)o * H + j1, 0.0f);
  std::fill(db1 + j0, db1 + j1, 0.0f);
  for (int r = 0; r < B; r++) {
    const float* hr = h + (size_t)r * ld;
    const float* dhr = dh + (size_t)r * ld;
    for (int o = 0; o < C; o++) {
      const float d = dz[(size_t)r * C + o];
      float* out = dw2 + (size_t)o * H;
      for (int j = j0; j < j1; j++) out[j] += d * hr[j];
    }
    for (int j = j0; j < j1; j++) db1[j] += dhr[j];
  }
}

typedef int v8i __attribute__((vector_size(32)));

// Transposes an 8×8 block held as eight rows, in three rounds of two-vector shuffles.
__attribute__((always_inline)) inline void transpose8(v8f r[8]) {
  const v8i lo_pairs = {0, 8, 1, 9, 4, 12, 5, 13}, hi_pairs = {2, 10, 3, 11, 6, 14, 7, 15};
  const v8i lo_quads = {0, 1, 8, 9, 4, 5, 12, 13}, hi_quads = {2, 3, 10, 11, 6, 7, 14, 15};
  const v8i lo_halves = {0, 1, 2, 3, 8, 9, 10, 11}, hi_halves = {4, 5, 6, 7, 12, 13, 14, 15};
  v8f t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = __builtin_shuffle(r[i], r[i + 1], lo_pairs);
    t[i + 1] = __builtin_shuffle(r[i], r[i + 1], hi_pairs);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = __builtin_shuffle(t[i], t[i + 2], lo_quads);
    u[i + 1] = __builtin_shuffle(t[i], t[i + 2], hi_quads);
    u[i + 2] = __builtin_shuffle(t[i + 1], t[i + 3], lo_quads);
    u[i + 3] = __builtin_shuffle(t[i + 1], t[i + 3], hi_quads);
  }
  for (int i = 0; i < 4; i++) {
    r[i] = __builtin_shuffle(u[i], u[i + 4], lo_halves);
    r[i + 4] = __builtin_shuffle(u[i], u[i + 4], hi_halves);
  }
}

// adam_value on eight values at once, the same operations in the same order.
__attribute__((always_inline)) inline v8f adam_vector(v8f p, v8f g, v8f& m, v8f& v, const AdamStepConstants& c) {
  if (c.wd != 0.0f) g += c.wd * p;
  m = c.b1 * m + c.one_minus_b1 * g;
  v = c.b2 * v + c.one_minus_b2 * g * g;
  v8f root;
  for (int i = 0; i < 8; i++) root[i] = __builtin_sqrtf(v[i]);
  return p - c.step_size * m / (root / c.bc2_sqrt + c.eps);
}

// Adam on rows [j0, j1) of fc1.weight (H,I), reading the gradient from its transpose gt (I,ld) and writing the
// new weights into the transposed shadow pt (I,ld) as well. The gradient itself stays transposed: copying
// it back every step would cost a fifth of this memory-bound loop; download_gradients() does it on demand.
// Whole 8×8 tiles go through registers; a ragged edge (H or I not a multiple of 8) goes value by value.
// (Measured slower, and so not done: pairs of tiles updated sixteen values at a time; this update overlapped
// with the weight gradient, one member producing while the other updates.)
FCNET_CLONES
void adam_first_layer_rows(float* __restrict p, float* __restrict m, float* __restrict v,
                           const float* __restrict gt, float* __restrict pt, int j0, int j1, int I, int ld,
                           const AdamStepConstants& c) {
  for (int jb = j0; jb < j1; jb += 8) {
    const int nj = std::min(8, j1 - jb);
    for (int kb = 0; kb < I; kb += 8) {
      const int nk = std::min(8, I - kb);
      if (nj < 8 || nk < 8) {
        for (int jj = 0; jj < nj; jj++) {
          for (int k = 0; k < nk; k++) {
            const size_t at = (size_t)(jb + jj) * I + kb + k;
            p[at] = adam_value(p[at], gt[(size_t)(kb + k) * ld + jb + jj], m[at], v[at], c);
            pt[(size_t)(kb + k) * ld + jb + jj] = p[at];
          }
        }
        continue;
      }
      v8f tile[8];
      for (int i = 0; i < 8; i++) tile[i] = load8(gt + (size_t)(kb + i) * ld + jb);
      transpose8(tile);  // now tile[r] = gradient of row jb + r, columns kb .. kb + 7
      for (int r = 0; r < 8; r++) {
        const size_t at = (size_t)(jb + r) * I + kb;
        v8f mr = load8(m + at), vr = load8(v + at);
        tile[r] = adam_vector(load8(p + at), tile[r], mr, vr, c);
        store8(p + at, tile[r]);
        store8(m + at, mr);
        store8(v + at, vr);
      }
      transpose8(tile);
      for (int i = 0; i < 8; i++) store8(pt + (size_t)(kb + i) * ld + jb, tile[i]);
    }
  }
}

FCNET_CLONES
void adam_range(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, size_t n,
                const AdamStepConstants& c) {
  for (size_t i = 0; i < n; i++) p[i] = adam_value(p[i], g[i], m[i], v[i], c);
}

}  // namespace

SparseTrainer::SparseTrainer(const std::vector<int>& sizes, int max_batch, int threads)
    : sizes_(sizes),
      max_batch_(max_batch),
      I_(sizes[0]),
      H_(sizes[1]),
      Hp_((sizes[1] + kChunk - 1) / kChunk * kChunk),
      Ld_(Hp_ + 16),
      team_(threads) {
  const int L = (int)sizes.size() - 1;
  size_t offset = 0;
  for (int l = 0; l < L; l++) {
    weight_offset_.push_back(offset);
    offset += (size_t)sizes[l] * sizes[l + 1];
    bias_offset_.push_back(offset);
    offset += sizes[l + 1];
  }
  parameter_count_ = offset;
  acts_.resize(L + 1);
  deltas_.resize(L + 1);
  stride_.assign(sizes.begin(), sizes.end());
  stride_[1] = Ld_;
  for (int l = 1; l <= L; l++) {  // zero-filled: the padding columns stay 0 forever
    acts_[l].assign((size_t)max_batch * stride_[l], 0.0f);
    deltas_[l].assign((size_t)max_batch * stride_[l], 0.0f);
  }
  batch_labels_.assign(max_batch, 0);
  row_loss_.assign(max_batch, 0.0);
  batch_pixels_.assign((size_t)max_batch * I_, 0);
  batch_order_.assign(max_batch, 0);
  sort_keys_.assign(max_batch, 0);
  const size_t row_groups = (max_batch + kRowGroup - 1) / kRowGroup;
  group_count_.assign(row_groups, 0);
  group_index_.assign(row_groups * I_, 0);
  group_value_.assign(row_groups * I_ * kRowGroup, 0.0f);
  const size_t column_groups = (I_ + kColumnGroup - 1) / kColumnGroup;
  column_count_.assign(column_groups, 0);
  column_row_.assign(column_groups * max_batch, 0);
  column_value_.assign(column_groups * max_batch * kColumnGroup, 0.0f);
  b1_.assign(Hp_, 0.0f);
  w1t_.assign((size_t)I_ * Ld_, 0.0f);
  dw1t_.assign((size_t)I_ * Ld_, 0.0f);
}

void SparseTrainer::download_gradients(float* grads) const {
  float* dw1 = grads + weight_offset_[0];
  constexpr int T = 32;
  for (int j0 = 0; j0 < H_; j0 += T)
    for (int k0 = 0; k0 < I_; k0 += T)
      for (int j = j0; j < std::min(H_, j0 + T); j++)
        for (int k = k0; k < std::min(I_, k0 + T); k++) dw1[(size_t)j * I_ + k] = dw1t_[(size_t)k * Ld_ + j];
}

void SparseTrainer::rebuild_shadow(const float* w1) {
  constexpr int T = 32;
  for (int j0 = 0; j0 < H_; j0 += T)
    for (int k0 = 0; k0 < I_; k0 += T)
      for (int j = j0; j < std::min(H_, j0 + T); j++)
        for (int k = k0; k < std::min(I_, k0 + T); k++) w1t_[(size_t)k * Ld_ + j] = w1[(size_t)j * I_ + k];
  shadow_valid_ = true;
}

void SparseTrainer::order_batch_by_label(const int32_t* labels, int B) {
  for (int r = 0; r < B; r++) sort_keys_[r] = (int64_t)labels[r] << 32 | r;
  std::sort(sort_keys_.begin(), sort_keys_.begin() + B);
  for (int i = 0; i < B; i++) batch_order_[i] = (int32_t)(sort_keys_[i] & 0xffffffff);
}

void SparseTrainer::gather_and_merge_rows(int member, int team, const uint8_t* images, const int32_t* labels,
                                          const int32_t* indices, int B) {
  long g0, g1;  // this member's groups of rows, and so its rows: batch_order_[i0 .. i1)
  split_range((B + kRowGroup - 1) / kRowGroup, member, team, &g0, &g1);
  const long i0 = g0 * kRowGroup, i1 = std::min<long>(B, g1 * kRowGroup);
  for (long i = i0; i < i1; i++) {
    const size_t r = batch_order_[i];
    std::memcpy(batch_pixels_.data() + r * I_, images + (size_t)indices[r] * I_, I_);
    batch_labels_[r] = labels[r];
  }
  for (long g = g0; g < g1; g++) {
    const long first = g * kRowGroup;
    group_count_[g] = merge_row_group(group_index_.data() + (size_t)g * I_, group_value_.data() + (size_t)g * I_ * kRowGroup,
                                      batch_pixels_.data(), batch_order_.data() + first,
                                      (int)std::min<long>(kRowGroup, B - first), I_);
  }
}

void SparseTrainer::forward_first(int member, int team, int B) {
  long c0, c1;  // this member's chunks of hidden units, for every row
  split_range(Hp_ / kChunk, member, team, &c0, &c1);
  forward_row_groups(acts_[1].data(), w1t_.data(), b1_.data(), batch_order_.data(), group_count_.data(),
                     group_index_.data(), group_value_.data(), 0, (B + kRowGroup - 1) / kRowGroup, B, I_,
                     (int)c0 * kChunk, (int)c1 * kChunk, Ld_, sizes_.size() > 2);
}

void SparseTrainer::output_layer_rows(int member, int team, const ParameterPointers& p, int B) {
  const int C = sizes_[2];
  long r0, r1;
  split_range(B, member, team, &r0, &r1);
  for (size_t r = r0; r < (size_t)r1; r++) {
    row_loss_[r] = output_layer_row(acts_[2].data() + r * C, deltas_[2].data() + r * C, deltas_[1].data() + r * Ld_,
                                    acts_[1].data() + r * Ld_, p.params + weight_offset_[1], p.params + bias_offset_[1],
                                    batch_labels_[r], H_, C, B);
  }
}

void SparseTrainer::output_layer_reductions(int member, int team, const ParameterPointers& p, int B) {
  const int C = sizes_[2];
  long j0, j1;
  split_range(H_, member, team, &j0, &j1);
  output_layer_gradients(p.grads + weight_offset_[1], p.grads + bias_offset_[0], deltas_[2].data(), acts_[1].data(),
                         deltas_[1].data(), B, H_, Ld_, C, (int)j0, (int)j1);
  if (member == 0) {
    float* db2 = p.grads + bias_offset_[1];
    std::fill(db2, db2 + C, 0.0f);
    for (int r = 0; r < B; r++)
      for (int o = 0; o < C; o++) db2[o] += deltas_[2][(size_t)r * C + o];
  }
}

double SparseTrainer::forward_rest_and_backward(const ParameterPointers& p, int B) {
  const int L = (int)sizes_.size() - 1;
  for (int l = 1; l < L; l++) {
    const int I = sizes_[l], O = sizes_[l + 1], in_stride = stride_[l];
    float* out = acts_[l + 1].data();  // stride O (only layer 1 is padded)
    const float* b = p.params + bias_offset_[l];
    for (int r = 0; r < B; r++) std::copy(b, b + O, out + (size_t)r * O);
    // The blocked GEMM, not the BLAS: these products are small and the BLAS's own threads would fight the team.
    sgemm_fallback(false, true, B, O, I, 1.0f, acts_[l].data(), in_stride, p.params + weight_offset_[l], I, 1.0f, out, O);
    if (l + 1 < L)
      for (size_t i = 0; i < (size_t)B * O; i++) out[i] = out[i] < 0.0f ? 0.0f : out[i];  // a NaN passes
  }
  // One layer: the logits are the first layer's output, whose rows are padded to Ld; the loss takes them tight,
  // and its gradient goes back to the padded rows (padding 0) that the first layer's gradient reads.
  const bool padded_logits = L == 1;
  if (padded_logits) {
    float* z = acts_[1].data();
    for (int r = 1; r < B; r++) std::memmove(z + (size_t)r * H_, z + (size_t)r * Ld_, sizeof(float) * H_);
  }
  const double loss = softmax_cross_entropy(deltas_[L].data(), acts_[L].data(), batch_labels_.data(), B, sizes_[L]);
  if (padded_logits) {
    float* d = deltas_[1].data();
    for (int r = B - 1; r >= 1; r--) std::memmove(d + (size_t)r * Ld_, d + (size_t)r * H_, sizeof(float) * H_);
    for (int r = 0; r < B; r++) std::fill(d + (size_t)r * Ld_ + H_, d + (size_t)(r + 1) * Ld_, 0.0f);
  }
  if (!std::isfinite(loss)) return loss;
  for (int l = L - 1; l >= 1; l--) {
    const int I = sizes_[l], O = sizes_[l + 1], in_stride = stride_[l];
    const float* dout = deltas_[l + 1].data();  // stride O
    sgemm_fallback(true, false, O, I, B, 1.0f, dout, O, acts_[l].data(), in_stride, 0.0f, p.grads + weight_offset_[l], I);
    float* db = p.grads + bias_offset_[l];
    std::fill(db, db + O, 0.0f);
    for (int r = 0; r < B; r++)
      for (int o = 0; o < O; o++) db[o] += dout[(size_t)r * O + o];
    sgemm_fallback(false, false, B, I, O, 1.0f, dout, O, p.params + weight_offset_[l], I, 0.0f, deltas_[l].data(),
                   in_stride);
    relu_backward(deltas_[l].data(), acts_[l].data(), (size_t)B * in_stride);  // padding: 0 stays 0
  }
  return loss;
}

void SparseTrainer::merge_columns(int member, int team, int B) {
  long c0, c1;
  split_range((long)column_count_.size(), member, team, &c0, &c1);
  merge_column_groups(column_count_.data(), column_row_.data(), column_value_.data(), batch_pixels_.data(), (int)c0,
                      (int)c1, B, I_);
}

void SparseTrainer::first_layer_gradient(int member, int team, const ParameterPointers& p, int B) {
  // Each member takes column groups holding about the same number of entries, counting a group's stores as two more.
  const int groups = (int)column_count_.size();
  long total = 0;
  for (int c = 0; c < groups; c++) total += column_count_[c] + 2;
  const long begin = total * member / team, end = total * (member + 1) / team;
  int c0 = groups, c1 = groups;
  long sum = 0;
  for (int c = 0; c < groups; c++) {
    if (c0 == groups && sum >= begin) c0 = c;
    if (sum >= end) {
      c1 = c;
      break;
    }
    sum += column_count_[c] + 2;
  }
  gradient_column_groups(dw1t_.data(), deltas_[1].data(), column_count_.data(), column_row_.data(),
                         column_value_.data(), c0, std::max(c0, c1), B, I_, Hp_, Ld_);
  if (member == 0 && sizes_.size() != 3) {  // two layers: output_layer_reductions summed it
    float* db = p.grads + bias_offset_[0];
    std::fill(db, db + H_, 0.0f);
    for (int r = 0; r < B; r++)
      for (int j = 0; j < H_; j++) db[j] += deltas_[1][(size_t)r * Ld_ + j];
  }
}

void SparseTrainer::adam(int member, int team, const ParameterPointers& p, const AdamStepConstants& c) {
  // Split on chunks, as forward_first splits: each member updates the part of the shadow it reads next step.
  // (The split falls on a multiple of sixteen floats, but std::vector does not align the shadow to 64 bytes, so
  // the cache line at each boundary can still be written by both members: speed only.)
  long j0, j1;
  split_range(Hp_ / kChunk, member, team, &j0, &j1);
  j0 = std::min<long>(j0 * kChunk, H_);
  j1 = std::min<long>(j1 * kChunk, H_);
  adam_first_layer_rows(p.params, p.m, p.v, dw1t_.data(), w1t_.data(), (int)j0, (int)j1, I_, Ld_, c);
  const size_t rest = (size_t)I_ * H_;
  long i0, i1;
  split_range((long)(parameter_count_ - rest), member, team, &i0, &i1);
  adam_range(p.params + rest + i0, p.grads + rest + i0, p.m + rest + i0, p.v + rest + i0, (size_t)(i1 - i0), c);
}

double SparseTrainer::train_batch(const ParameterPointers& p, const uint8_t* images, const int32_t* labels,
                                  const int32_t* indices, int B, const AdamHyper& hyper, int64_t step) {
  using clock = std::chrono::steady_clock;
  auto mark = clock::now();
  auto lap = [&](int phase) {
    const auto now = clock::now();
    phase_seconds_[phase] += std::chrono::duration<double>(now - mark).count();
    mark = now;
  };
  if (!shadow_valid_) rebuild_shadow(p.params + weight_offset_[0]);
  std::copy(p.params + bias_offset_[0], p.params + bias_offset_[0] + H_, b1_.begin());
  order_batch_by_label(labels, B);
  team_.run([&](int member, int team) { gather_and_merge_rows(member, team, images, labels, indices, B); });
  team_.run([&](int member, int team) { forward_first(member, team, B); });
  if (sizes_.size() == 3) team_.run([&](int member, int team) { output_layer_rows(member, team, p, B); });
  lap(0);
  double loss = 0.0;
  if (sizes_.size() == 3) {
    // Two layers: each member ran the output layer for its own rows; what remains sums over all rows.
    for (int r = 0; r < B; r++) loss += row_loss_[r];
    loss /= B;
    if (!std::isfinite(loss)) return loss;
    team_.run([&](int member, int team) {
      // One member lays the inputs out by column while the others share the output layer's sums (both split
      // among all members measured three times slower on two cores).
      if (team == 1) {
        merge_columns(0, 1, B);
        output_layer_reductions(0, 1, p, B);
      } else if (member == 0) {
        merge_columns(0, 1, B);
      } else {
        output_layer_reductions(member - 1, team - 1, p, B);
      }
    });
  } else {
    team_.run([&](int member, int team) {
      // The rest of the network is small: one member runs it while the others lay the inputs out by column.
      if (member == 0) loss = forward_rest_and_backward(p, B);
      if (team == 1) merge_columns(0, 1, B);
      else if (member > 0) merge_columns(member - 1, team - 1, B);
    });
  }
  lap(1);
  if (!std::isfinite(loss)) return loss;
  team_.run([&](int member, int team) { first_layer_gradient(member, team, p, B); });
  lap(2);
  const AdamStepConstants c = adam_step_constants(hyper, step);
  team_.run([&](int member, int team) { adam(member, team, p, c); });
  lap(3);
  return loss;
}

}  // namespace fcnet

#include "sparse_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "gemm.h"
#include "simd.h"

namespace fcnet {
namespace {

constexpr int CHUNK = 64;  // hidden units per pass: one chunk of accumulators stays in registers

// Eight floats as one value, loadable from any float address. Written with explicit vectors because GCC
// does not vectorise an accumulator array over an indirect (sparse) inner loop by itself.
typedef float v8f __attribute__((vector_size(32), aligned(4)));
constexpr int VECS = CHUNK / 8;

// out(c0 : c0+CHUNK) = b1 + Σ_e value[e] · w1t[index[e], c0 : c0+CHUNK] for one row, then ReLU.
// A whole chunk always: the widths are padded to CHUNK, so the accumulators live in vector registers.
__attribute__((always_inline)) inline void forward_chunk(float* __restrict out, const float* __restrict w1t,
                                                         const float* __restrict b1, const int32_t* __restrict index,
                                                         const float* __restrict value, int count, int Hp, int c0,
                                                         bool relu) {
  v8f acc[VECS];
  for (int t = 0; t < VECS; t++) acc[t] = *reinterpret_cast<const v8f*>(b1 + c0 + 8 * t);
  for (int e = 0; e < count; e++) {
    const v8f* row = reinterpret_cast<const v8f*>(w1t + (size_t)index[e] * Hp + c0);
    const float a = value[e];
    for (int t = 0; t < VECS; t++) acc[t] += a * row[t];
  }
  const v8f zero = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int t = 0; t < VECS; t++) {
    const v8f y = relu ? (acc[t] > zero ? acc[t] : zero) : acc[t];
    *reinterpret_cast<v8f*>(out + c0 + 8 * t) = y;
  }
}

FCNET_CLONES
void sparse_forward_rows(float* out /* (B,Hp) */, const float* w1t /* (I,Hp) */, const float* b1 /* (Hp) */,
                         const int32_t* row_count, const int32_t* row_index, const float* row_value, int r0, int r1,
                         int I, int Hp, bool relu) {
  // Chunk-major: one chunk of W1ᵀ's columns (I·64 floats, 200 KB for MNIST) stays in L2 for every row.
  for (int c0 = 0; c0 < Hp; c0 += CHUNK) {
    for (int r = r0; r < r1; r++) {
      forward_chunk(out + (size_t)r * Hp, w1t, b1, row_index + (size_t)r * I, row_value + (size_t)r * I, row_count[r],
                    Hp, c0, relu);
    }
  }
}

// dw1t(k, :) = Σ over the column's entries of value · delta(row, :), for columns [k0, k1).
FCNET_CLONES
void sparse_gradient_columns(float* __restrict dw1t /* (I,Hp) */, const float* __restrict delta /* (B,Hp) */,
                             const int32_t* col_start, const int32_t* col_row, const float* col_value, int k0, int k1,
                             int Hp) {
  for (int k = k0; k < k1; k++) {
    float* __restrict out = dw1t + (size_t)k * Hp;
    const int e0 = col_start[k], e1 = col_start[k + 1];
    for (int c0 = 0; c0 < Hp; c0 += CHUNK) {
      v8f acc[VECS] = {};
      for (int e = e0; e < e1; e++) {
        const v8f* row = reinterpret_cast<const v8f*>(delta + (size_t)col_row[e] * Hp + c0);
        const float a = col_value[e];
        for (int t = 0; t < VECS; t++) acc[t] += a * row[t];
      }
      for (int t = 0; t < VECS; t++) *reinterpret_cast<v8f*>(out + c0 + 8 * t) = acc[t];
    }
  }
}

// Σ_j a[j]·b[j] in eight lanes, then the lanes in a fixed order: the same sum for a row whichever member runs it.
inline float dot(const float* __restrict a, const float* __restrict b, int n) {
  v8f acc = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 8 <= n; j += 8) acc += *reinterpret_cast<const v8f*>(a + j) * *reinterpret_cast<const v8f*>(b + j);
  float sum = 0.0f;
  for (int i = 0; i < 8; i++) sum += acc[i];
  for (; j < n; j++) sum += a[j] * b[j];
  return sum;
}

// The output layer of a two-layer network for one row h (H): logits z (C), the row's loss (returned, not yet
// divided by B), its gradient dz (C, divided by B), and the gradient at the hidden layer through the ReLU,
// dh (H). Rows are independent, so each member does its own rows right after their forward pass.
FCNET_CLONES
double output_layer_row(float* __restrict z, float* __restrict dz, float* __restrict dh, const float* __restrict h,
                        const float* __restrict w2 /* (C,H) */, const float* __restrict b2, int32_t label, int H, int C,
                        int B) {
  for (int o = 0; o < C; o++) z[o] = b2[o] + dot(w2 + (size_t)o * H, h, H);
  const double loss = softmax_cross_entropy_row(dz, z, label, C, B);
  std::fill(dh, dh + H, 0.0f);
  for (int o = 0; o < C; o++) {
    const float d = dz[o];
    const float* w = w2 + (size_t)o * H;
    for (int j = 0; j < H; j++) dh[j] += d * w[j];
  }
  for (int j = 0; j < H; j++) dh[j] = h[j] > 0.0f ? dh[j] : 0.0f;
  return loss;
}

// Columns [j0, j1) of the output layer's weight gradient dw2 (C,H) = Σ_r dz[r,:]ᵀ·h[r,:], and of fc1.bias's
// gradient db1 = Σ_r dh[r,:], summed over the rows in order (so any split of the columns gives the same sums).
FCNET_CLONES
void output_layer_gradients(float* __restrict dw2, float* __restrict db1, const float* __restrict dz,
                            const float* __restrict h, const float* __restrict dh, int B, int H, int Hp, int C, int j0,
                            int j1) {
  for (int o = 0; o < C; o++) std::fill(dw2 + (size_t)o * H + j0, dw2 + (size_t)o * H + j1, 0.0f);
  std::fill(db1 + j0, db1 + j1, 0.0f);
  for (int r = 0; r < B; r++) {
    const float* hr = h + (size_t)r * Hp;
    const float* dhr = dh + (size_t)r * Hp;
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

inline v8f load8(const float* p) { return *reinterpret_cast<const v8f*>(p); }
inline void store8(float* p, v8f x) { *reinterpret_cast<v8f*>(p) = x; }

// Adam on rows [j0, j1) of fc1.weight (H,I), reading the gradient from its transpose gt (I,Hp) and writing the
// new weights into the transposed shadow pt (I,Hp) as well. The gradient itself stays transposed: copying
// it back every step would cost a fifth of this memory-bound loop; download_gradients() does it on demand.
// Whole 8×8 tiles go through registers; a ragged edge (H or I not a multiple of 8) goes value by value.
FCNET_CLONES
void adam_first_layer_rows(float* __restrict p, float* __restrict m, float* __restrict v,
                           const float* __restrict gt, float* __restrict pt, int j0, int j1, int I, int Hp,
                           const AdamStepConstants& c) {
  for (int jb = j0; jb < j1; jb += 8) {
    const int nj = std::min(8, j1 - jb);
    for (int kb = 0; kb < I; kb += 8) {
      const int nk = std::min(8, I - kb);
      if (nj < 8 || nk < 8) {
        for (int jj = 0; jj < nj; jj++) {
          for (int k = 0; k < nk; k++) {
            const size_t at = (size_t)(jb + jj) * I + kb + k;
            p[at] = adam_value(p[at], gt[(size_t)(kb + k) * Hp + jb + jj], m[at], v[at], c);
            pt[(size_t)(kb + k) * Hp + jb + jj] = p[at];
          }
        }
        continue;
      }
      v8f tile[8];
      for (int i = 0; i < 8; i++) tile[i] = load8(gt + (size_t)(kb + i) * Hp + jb);
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
      for (int i = 0; i < 8; i++) store8(pt + (size_t)(kb + i) * Hp + jb, tile[i]);
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
      Hp_((sizes[1] + CHUNK - 1) / CHUNK * CHUNK),
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
  stride_[1] = Hp_;
  for (int l = 1; l <= L; l++) {  // zero-filled: the padding columns stay 0 forever
    acts_[l].assign((size_t)max_batch * stride_[l], 0.0f);
    deltas_[l].assign((size_t)max_batch * stride_[l], 0.0f);
  }
  batch_labels_.assign(max_batch, 0);
  row_loss_.assign(max_batch, 0.0);
  row_count_.assign(max_batch, 0);
  row_index_.assign((size_t)max_batch * I_, 0);
  row_value_.assign((size_t)max_batch * I_, 0.0f);
  col_start_.assign(I_ + 1, 0);
  col_fill_.assign(I_, 0);
  col_row_.assign((size_t)max_batch * I_, 0);
  col_value_.assign((size_t)max_batch * I_, 0.0f);
  col_bounds_.assign(team_.size() + 1, 0);
  b1_.assign(Hp_, 0.0f);
  w1t_.assign((size_t)I_ * Hp_, 0.0f);
  dw1t_.assign((size_t)I_ * Hp_, 0.0f);
}

void SparseTrainer::download_gradients(float* grads) const {
  float* dw1 = grads + weight_offset_[0];
  constexpr int T = 32;
  for (int j0 = 0; j0 < H_; j0 += T)
    for (int k0 = 0; k0 < I_; k0 += T)
      for (int j = j0; j < std::min(H_, j0 + T); j++)
        for (int k = k0; k < std::min(I_, k0 + T); k++) dw1[(size_t)j * I_ + k] = dw1t_[(size_t)k * Hp_ + j];
}

void SparseTrainer::rebuild_shadow(const float* w1) {
  constexpr int T = 32;
  for (int j0 = 0; j0 < H_; j0 += T)
    for (int k0 = 0; k0 < I_; k0 += T)
      for (int j = j0; j < std::min(H_, j0 + T); j++)
        for (int k = k0; k < std::min(I_, k0 + T); k++) w1t_[(size_t)k * Hp_ + j] = w1[(size_t)j * I_ + k];
  shadow_valid_ = true;
}

void SparseTrainer::gather_and_forward_first(int member, int team, const ParameterPointers& p, const uint8_t* images,
                                             const int32_t* labels, const int32_t* indices, int B) {
  long r0, r1;
  split_range(B, member, team, &r0, &r1);
  for (long r = r0; r < r1; r++) {
    const uint8_t* pixels = images + (size_t)indices[r] * I_;
    int32_t* index = row_index_.data() + (size_t)r * I_;
    float* value = row_value_.data() + (size_t)r * I_;
    int count = 0;
    for (int k = 0; k < I_; k++) {
      if ((k & 7) == 0 && k + 8 <= I_) {  // MNIST rows are runs of zeros: skip them eight bytes at a time
        uint64_t word;
        std::memcpy(&word, pixels + k, 8);
        if (word == 0) {
          k += 7;
          continue;
        }
      }
      if (pixels[k] != 0) {
        index[count] = k;
        value[count] = (float)pixels[k] / 255.0f;  // as torchvision's ToTensor
        count++;
      }
    }
    row_count_[r] = count;
    batch_labels_[r] = labels[indices[r]];
  }
  const bool relu = sizes_.size() > 2;
  sparse_forward_rows(acts_[1].data(), w1t_.data(), b1_.data(), row_count_.data(), row_index_.data(),
                      row_value_.data(), (int)r0, (int)r1, I_, Hp_, relu);
  if (sizes_.size() != 3) return;
  const int C = sizes_[2];
  for (long r = r0; r < r1; r++) {
    row_loss_[r] = output_layer_row(acts_[2].data() + r * C, deltas_[2].data() + r * C, deltas_[1].data() + r * Hp_,
                                    acts_[1].data() + r * Hp_, p.params + weight_offset_[1], p.params + bias_offset_[1],
                                    batch_labels_[r], H_, C, B);
  }
}

void SparseTrainer::output_layer_reductions(int member, int team, const ParameterPointers& p, int B) {
  const int C = sizes_[2];
  long j0, j1;
  split_range(H_, member, team, &j0, &j1);
  output_layer_gradients(p.grads + weight_offset_[1], p.grads + bias_offset_[0], deltas_[2].data(), acts_[1].data(),
                         deltas_[1].data(), B, H_, Hp_, C, (int)j0, (int)j1);
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
      for (size_t i = 0; i < (size_t)B * O; i++) out[i] = out[i] > 0.0f ? out[i] : 0.0f;
  }
  // One layer: the logits are the first layer's output, whose rows are padded to Hp; the loss takes them tight,
  // and its gradient goes back to the padded rows (padding 0) that the first layer's gradient reads.
  const bool padded_logits = L == 1 && Hp_ != H_;
  if (padded_logits) {
    float* z = acts_[1].data();
    for (int r = 1; r < B; r++) std::memmove(z + (size_t)r * H_, z + (size_t)r * Hp_, sizeof(float) * H_);
  }
  const double loss = softmax_cross_entropy(deltas_[L].data(), acts_[L].data(), batch_labels_.data(), B, sizes_[L]);
  if (padded_logits) {
    float* d = deltas_[1].data();
    for (int r = B - 1; r >= 1; r--) std::memmove(d + (size_t)r * Hp_, d + (size_t)r * H_, sizeof(float) * H_);
    for (int r = 0; r < B; r++) std::fill(d + (size_t)r * Hp_ + H_, d + (size_t)(r + 1) * Hp_, 0.0f);
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

void SparseTrainer::build_columns(int B) {
  std::fill(col_start_.begin(), col_start_.end(), 0);
  for (int r = 0; r < B; r++) {
    const int32_t* index = row_index_.data() + (size_t)r * I_;
    for (int e = 0; e < row_count_[r]; e++) col_start_[index[e] + 1]++;
  }
  for (int k = 0; k < I_; k++) col_start_[k + 1] += col_start_[k];
  std::copy(col_start_.begin(), col_start_.end() - 1, col_fill_.begin());
  for (int r = 0; r < B; r++) {  // rows in order: every column lists its rows ascending, so sums are repeatable
    const int32_t* index = row_index_.data() + (size_t)r * I_;
    const float* value = row_value_.data() + (size_t)r * I_;
    for (int e = 0; e < row_count_[r]; e++) {
      const int32_t at = col_fill_[index[e]]++;
      col_row_[at] = r;
      col_value_[at] = value[e];
    }
  }
  // Each member's columns hold about the same number of non-zeros (plus a share of the empty ones).
  const int team = team_.size();
  const long total = col_start_[I_] + I_;
  int k = 0;
  col_bounds_[0] = 0;
  for (int m = 1; m < team; m++) {
    const long target = total * m / team;
    while (k < I_ && col_start_[k] + k < target) k++;
    col_bounds_[m] = k;
  }
  col_bounds_[team] = I_;
}

void SparseTrainer::first_layer_gradient(int member, int team, const ParameterPointers& p, int B) {
  (void)team;
  sparse_gradient_columns(dw1t_.data(), deltas_[1].data(), col_start_.data(), col_row_.data(), col_value_.data(),
                          col_bounds_[member], col_bounds_[member + 1], Hp_);
  if (member == 0 && sizes_.size() != 3) {  // two layers: output_layer_reductions summed it
    float* db = p.grads + bias_offset_[0];
    std::fill(db, db + H_, 0.0f);
    for (int r = 0; r < B; r++)
      for (int j = 0; j < H_; j++) db[j] += deltas_[1][(size_t)r * Hp_ + j];
  }
}

void SparseTrainer::adam(int member, int team, const ParameterPointers& p, const AdamStepConstants& c) {
  long j0, j1;  // split on whole 8-row tiles
  split_range((H_ + 7) / 8, member, team, &j0, &j1);
  j0 *= 8;
  j1 = std::min<long>(j1 * 8, H_);
  adam_first_layer_rows(p.params, p.m, p.v, dw1t_.data(), w1t_.data(), (int)j0, (int)j1, I_, Hp_, c);
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
  team_.run([&](int member, int team) { gather_and_forward_first(member, team, p, images, labels, indices, B); });
  lap(0);
  double loss = 0.0;
  if (sizes_.size() == 3) {
    // Two layers: each member ran the output layer for its own rows; what remains sums over all rows.
    for (int r = 0; r < B; r++) loss += row_loss_[r];
    loss /= B;
    if (!std::isfinite(loss)) return loss;
    team_.run([&](int member, int team) {
      // One member lays the inputs out by column while the others share the output layer's sums.
      if (team == 1) {
        build_columns(B);
        output_layer_reductions(0, 1, p, B);
      } else if (member == 0) {
        build_columns(B);
      } else {
        output_layer_reductions(member - 1, team - 1, p, B);
      }
    });
  } else {
    team_.run([&](int member, int team) {
      // The rest of the network is small: one member runs it while another lays the inputs out by column.
      if (member == 0) loss = forward_rest_and_backward(p, B);
      if (member == (team > 1 ? 1 : 0)) build_columns(B);
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

#include "sparse_adam.h"

#include <algorithm>

#include "simd.h"

namespace fcnet {
namespace {

// Eight floats as one value, loadable from any float address.
typedef float v8f __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32)));

inline v8f load8(const float* p) { return *reinterpret_cast<const v8f*>(p); }
inline void store8(float* p, v8f x) { *reinterpret_cast<v8f*>(p) = x; }
inline v8f splat(float x) { return v8f{x, x, x, x, x, x, x, x}; }

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

// Whole 8×8 tiles go through registers; a ragged edge (H or I not a multiple of 8) goes value by value.
// (Measured slower, and so not done: pairs of tiles updated sixteen values at a time; this update overlapped
// with the weight gradient, one member producing while the other updates.)
template <bool Fold>
__attribute__((always_inline)) inline void adam_rows(float* __restrict p, float* __restrict m, float* __restrict v,
                                                     const float* __restrict gt, float* __restrict pt, int j0, int j1,
                                                     int I, int ld, const AdamStepConstants& c,
                                                     const FirstLayerFold& f) {
  for (int jb = j0; jb < j1; jb += 8) {
    const int nj = std::min(8, j1 - jb);
    v8f acc[8] = {};          // Fold: Σ_k shadow[k, jb + r]·μ_k over whole tiles, per row r
    float tail[8] = {};       // ... and over the ragged edge
    for (int kb = 0; kb < I; kb += 8) {
      const int nk = std::min(8, I - kb);
      if (nj < 8 || nk < 8) {
        for (int jj = 0; jj < nj; jj++) {
          const int j = jb + jj;
          for (int k = kb; k < kb + nk; k++) {
            const size_t at = (size_t)j * I + k;
            float g = gt[(size_t)k * ld + j];
            if (Fold) g = (g - f.mean[k] * f.db[j]) / f.std[k];
            p[at] = adam_value(p[at], g, m[at], v[at], c);
            const float shadow = Fold ? p[at] / f.std[k] : p[at];
            pt[(size_t)k * ld + j] = shadow;
            if (Fold) tail[jj] += shadow * f.mean[k];
          }
        }
        continue;
      }
      v8f tile[8];
      for (int i = 0; i < 8; i++) {
        tile[i] = load8(gt + (size_t)(kb + i) * ld + jb);
        if (Fold) tile[i] = (tile[i] - f.mean[kb + i] * load8(f.db + jb)) / splat(f.std[kb + i]);
      }
      transpose8(tile);  // now tile[r] = gradient of row jb + r, columns kb .. kb + 7
      for (int r = 0; r < 8; r++) {
        const size_t at = (size_t)(jb + r) * I + kb;
        v8f mr = load8(m + at), vr = load8(v + at);
        tile[r] = adam_vector(load8(p + at), tile[r], mr, vr, c);
        store8(p + at, tile[r]);
        store8(m + at, mr);
        store8(v + at, vr);
        if (Fold) {
          tile[r] = tile[r] / load8(f.std + kb);
          acc[r] += tile[r] * load8(f.mean + kb);
        }
      }
      transpose8(tile);
      for (int i = 0; i < 8; i++) store8(pt + (size_t)(kb + i) * ld + jb, tile[i]);
    }
    if (Fold)
      for (int r = 0; r < nj; r++) {
        float sum = 0.0f;
        for (int i = 0; i < 8; i++) sum += acc[r][i];
        f.bfold[jb + r] = sum + tail[r];
      }
  }
}

// Two functions, not one with a branch: each is a clone target of its own, and the plain one compiles exactly as
// the former fused step's did (inlined together, the plain loop measured 15 % slower).
FCNET_CLONES
void adam_rows_plain(float* __restrict p, float* __restrict m, float* __restrict v, const float* __restrict gt,
                     float* __restrict pt, int j0, int j1, int I, int ld, const AdamStepConstants& c) {
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
void adam_rows_folded(float* __restrict p, float* __restrict m, float* __restrict v, const float* __restrict gt,
                      float* __restrict pt, int j0, int j1, int I, int ld, const AdamStepConstants& c,
                      const FirstLayerFold& fold) {
  adam_rows<true>(p, m, v, gt, pt, j0, j1, I, ld, c, fold);
}

}  // namespace

void adam_first_layer_rows(float* p, float* m, float* v, const float* gt, float* pt, int j0, int j1, int I, int ld,
                           const AdamStepConstants& c, const FirstLayerFold& fold) {
  if (fold.mean != nullptr) adam_rows_folded(p, m, v, gt, pt, j0, j1, I, ld, c, fold);
  else adam_rows_plain(p, m, v, gt, pt, j0, j1, I, ld, c);
}

FCNET_CLONES
void adam_range(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, size_t n,
                const AdamStepConstants& c) {
  for (size_t i = 0; i < n; i++) p[i] = adam_value(p[i], g[i], m[i], v[i], c);
}

}  // namespace fcnet

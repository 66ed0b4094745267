#include "sparse_adam.h"

#include "simd.h"

namespace fcnet {
namespace {

// Rows of contiguous values: GCC vectorizes the inner loop at each clone's width (two divisions and a square root
// a value), and the loads stream through whole rows.
template <bool Fold>
__attribute__((always_inline)) inline void adam_rows(float* __restrict wt, float* __restrict mt, float* __restrict vt,
                                                     const float* __restrict gt, int k0, int k1, int j0, int j1,
                                                     int ld, const AdamStepConstants& c, const FirstLayerFold& f) {
  for (int k = k0; k < k1; k++) {
    const size_t row = (size_t)k * ld;
    float* __restrict w = wt + row;
    float* __restrict m = mt + row;
    float* __restrict v = vt + row;
    const float* __restrict g = gt + row;
    if (Fold) {
      const float mean = f.mean[k], inv = f.inv_std[k];
      float* __restrict ws = f.ws + row;
      for (int j = j0; j < j1; j++) {
        w[j] = adam_value(w[j], (g[j] - mean * f.db[j]) * inv, m[j], v[j], c);
        ws[j] = w[j] * inv;
      }
    } else {
      for (int j = j0; j < j1; j++) w[j] = adam_value(w[j], g[j], m[j], v[j], c);
    }
  }
}

FCNET_CLONES
void adam_rows_plain(float* wt, float* mt, float* vt, const float* gt, int k0, int k1, int j0, int j1, int ld,
                     const AdamStepConstants& c) {
  adam_rows<false>(wt, mt, vt, gt, k0, k1, j0, j1, ld, c, FirstLayerFold{});
}

FCNET_CLONES
void adam_rows_folded(float* wt, float* mt, float* vt, const float* gt, int k0, int k1, int j0, int j1, int ld,
                      const AdamStepConstants& c, const FirstLayerFold& fold) {
  adam_rows<true>(wt, mt, vt, gt, k0, k1, j0, j1, ld, c, fold);
}

}  // namespace

void adam_first_layer(float* wt, float* mt, float* vt, const float* gt, int k0, int k1, int j0, int j1, int ld,
                      const AdamStepConstants& c, const FirstLayerFold& fold) {
  if (fold.mean != nullptr) adam_rows_folded(wt, mt, vt, gt, k0, k1, j0, j1, ld, c, fold);
  else adam_rows_plain(wt, mt, vt, gt, k0, k1, j0, j1, ld, c);
}

FCNET_CLONES
void fold_bias(const float* __restrict ws, const float* __restrict mean, float* __restrict bfold, int j0, int j1,
               int I, int ld) {
  for (int j = j0; j < j1; j++) bfold[j] = 0.0f;
  for (int k = 0; k < I; k++) {
    const float* __restrict row = ws + (size_t)k * ld;
    const float mu = mean[k];
    for (int j = j0; j < j1; j++) bfold[j] += row[j] * mu;
  }
}

FCNET_CLONES
void adam_range(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, size_t n,
                const AdamStepConstants& c) {
  for (size_t i = 0; i < n; i++) p[i] = adam_value(p[i], g[i], m[i], v[i], c);
}

}  // namespace fcnet

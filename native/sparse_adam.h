// Adam on the sparse first layer's weights, which the sparse path keeps transposed (see network.h), and the flat
// Adam loop every other parameter takes. Dimension letters: I the first layer's inputs, ld the row stride of the
// transposed (I, ·) matrices; rows k are inputs, columns j the first layer's outputs.
#pragma once

#include <cstddef>

#include "adam_math.h"

namespace fcnet {

// The input transform folded into the first layer (network.h): mean == nullptr when there is none.
struct FirstLayerFold {
  const float* mean = nullptr;     // (I)
  const float* inv_std = nullptr;  // (I) 1/σ
  const float* db = nullptr;       // (ld) the bias gradient, Σ_b dh[b, j]
  float* ws = nullptr;             // (I, ld) written: the copy the tiles read, wt · (1/σ_k)
};

// Adam on rows [k0, k1) × columns [j0, j1) of fc1.weight held transposed, wt (I, ld), with its moments mt and vt
// laid out alike, from the transposed gradient gt (I, ld), corrected for the fold: (gt[k,j] − μ_k·db[j])·(1/σ_k);
// folded, the scaled copy of those values is remade too (fold_bias then needs every row done). The same adam_value on every value as the flat loop, so
// the layout changes no bit. (Products by 1/σ, not divisions: the fold is the engine's own rearrangement of
// PyTorch's sums, and a third division a value measured as much time as Adam's own two.)
void adam_first_layer(float* wt, float* mt, float* vt, const float* gt, int k0, int k1, int j0, int j1, int ld,
                      const AdamStepConstants& c, const FirstLayerFold& fold);

// The folded bias of columns [j0, j1): bfold[j] = Σ_k ws[k,j]·μ_k, summed in ascending k over all I rows.
void fold_bias(const float* ws, const float* mean, float* bfold, int j0, int j1, int I, int ld);

// adam_value over n values.
void adam_range(float* p, const float* g, float* m, float* v, size_t n, const AdamStepConstants& c);

}  // namespace fcnet

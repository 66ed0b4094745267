// Adam on the sparse first layer's weights, which the sparse path keeps transposed (see network.h), and the flat
// Adam loop every other parameter takes. Dimension letters: H the first layer's outputs, I its inputs, ld the row
// stride of the transposed (I, ·) matrices.
#pragma once

#include <cstddef>

#include "adam_math.h"

namespace fcnet {

// The input transform folded into the first layer (network.h): mean == nullptr when there is none.
struct FirstLayerFold {
  const float* mean;  // (I)
  const float* std;   // (I)
  const float* db;    // (H) the bias gradient, Σ_b dh[b, j]
  float* bfold;       // (H) written: Σ_k (W[j,k]/σ_k)·μ_k for the new weights
};

// Adam on rows [j0, j1) of fc1.weight p (H, I), with m and v beside it, reading the gradient from its transpose
// gt (I, ld) (corrected for the fold: (gt[k,j] − μ_k·db[j]) / σ_k) and writing the new weights into the transposed
// shadow pt (I, ld) as well (divided by σ_k when folded).
void adam_first_layer_rows(float* p, float* m, float* v, const float* gt, float* pt, int j0, int j1, int I, int ld,
                           const AdamStepConstants& c, const FirstLayerFold& fold);

// adam_value over n values.
void adam_range(float* p, const float* g, float* m, float* v, size_t n, const AdamStepConstants& c);

}  // namespace fcnet

// The optimizer's flat loops (optimizer_math.h): over a range of the caller's buffers, and over the sparse first
// layer's weights, which the sparse path keeps transposed (network.h). Dimension letters: I the first layer's
// inputs, ld the row stride of the transposed (I, ·) matrices; rows k are inputs, columns j the layer's outputs.
#pragma once

#include <cstddef>

#include "optimizer_math.h"

namespace fcnet {

// The input transform folded into the first layer (network.h): coef == nullptr when there is none.
struct FirstLayerFold {
  const float* coef = nullptr;  // (I) μ/σ
  const float* db = nullptr;    // (ld) the bias gradient, Σ_b dh[b, j]
};

// One step on rows [k0, k1) × columns [j0, j1) of fc1.weight held transposed, wt (I, ld), with its state mt and
// vt laid out alike (the moments; SGD's momentum buffer in mt), from the transposed gradient gt (I, ld) of the
// inputs scaled by 1/σ, corrected for the fold's mean: gt[k,j] − (μ_k/σ_k)·db[j]. The same update_value on every
// value as step_range, so the layout changes no bit.
void step_first_layer(float* wt, float* mt, float* vt, const float* gt, int k0, int k1, int j0, int j1, int ld,
                      const StepConstants& c, const FirstLayerFold& fold);

// Rows [k0, k1)'s part of the folded transform's bias: partial[j] = Σ_k wt[k,j]·(μ_k/σ_k) in ascending k
// (overwritten), columns [j0, j1). Blocks of rows fixed by the shapes (kFoldRows), summed block after block, give
// the same bias whatever the thread count; one function for a step and a rebuild, so both give the same bits.
constexpr int kFoldRows = 64;
void fold_rows(const float* wt, float* partial, const float* coef, int k0, int k1, int j0, int j1, int ld);

// One step over n values of the caller's flat buffers.
void step_range(float* p, const float* g, float* m, float* v, size_t n, const StepConstants& c);

}  // namespace fcnet

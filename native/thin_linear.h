// The linear op's path for a thin layer (few outputs: the logits of a classifier), where a BLAS call costs more in
// packing than in arithmetic. Row by row: each row's outputs as dot products of the row with the weights' rows (kept
// in L1), and its input gradient right after the loss, while the row is hot. Hand-written products whose every value
// has its terms in one order, whatever the vectors' width (AVX-512 or AVX2), the blocking, or the rows a member takes.
// Dimension letters as in linear_tiles.h.
#pragma once

#include "linear_tiles.h"

namespace fcnet {

constexpr int kThinOutputs = 16;  // at most this many outputs take the thin path

// out[r, :] of out(B, ld_out) = x[r, :] · w(O, I)ᵀ + b for rows [r0, r1): each dot product as sixteen lane sums over
// whole vectors of sixteen inputs, those added lane i + 8 into lane i, then i + 4, ..., then the inputs past the last
// whole vector in order, then b.
void thin_forward_rows(float* out, int ld_out, const float* x, int ld_x, const float* w, const float* b, int I, int O,
                       int r0, int r1);

// dx[r, :] of dx(B, ld_dx) = g[r, :] · w(O, I) (each sum over o in order) for rows [r0, r1), then the epilogue.
void thin_backward_input_rows(float* dx, int ld_dx, const float* g, int ld_g, const float* w, int O, int I,
                              const BackwardEpilogue& e, int r0, int r1);

// dw[:, c0:c1] of dw(O, I) = g(B, ld_g)ᵀ · x(B, ld_x)[:, c0:c1], rows summed in order; when c0 == 0 also
// db(O) = Σ_b g[b, :].
void thin_backward_weight_cols(float* dw, float* db, const float* g, int ld_g, const float* x, int ld_x, int B, int I,
                               int O, int c0, int c1);

}  // namespace fcnet

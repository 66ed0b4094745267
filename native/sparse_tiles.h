// The first layer's two big products over mostly-zero inputs, with their partial sums held in registers:
//   forward   h1(B,H) = b1 + X(B,I) · W1ᵀ(I,H)       a tile: kRowGroup rows of the batch × a chunk of H
//   gradient  dW1ᵀ(I,H) = X(B,I)ᵀ · Δ(B,H)            a tile: a group of neighbouring inputs × a chunk of H
// A tile loads each row of W1ᵀ (or Δ) it needs once for its whole group, not once per row (or input): the
// loads from L2, not the arithmetic, bound these products. A group visits the union of its members' non-zero
// positions and multiplies by 0 where a member has none, which leaves every sum exactly as the same terms
// summed alone, in the same (ascending) order: the tiles change the speed, not one bit of the results (while the
// weights are finite: 0 · ±Inf or 0 · NaN is NaN, which the loss then shows, as PyTorch's dense product would).
// Dimension letters: B batch, I inputs, H first hidden width, Hp = H padded to whole chunks, ld the row stride
// of every (·, Hp) matrix here: Hp plus 16 floats, because with a stride of a power of two (2 KB for MNIST) the
// same chunk of every row falls into the same few cache sets (measured a tenth slower a step).
#pragma once

#include <cstdint>

#include "column_groups.h"

namespace fcnet {

constexpr int kChunk = 64;        // Hp is a multiple of this
constexpr int kRowGroup = 5;      // rows of the batch per forward tile (B = 100 on two threads: 10 whole groups each)

// Floats per vector in the tiles: 16 where the CPU has AVX-512 (unless FCNET_SIMD=avx2), else 8.
int tile_vector_floats();

// Bit k % 64 of word k / 64 set where input k of a row is non-zero: mask_words(I) words a row. nonzero_mask
// writes a row's and returns its count of non-zero inputs (a float −0 counts as zero). The merges below take
// the batch's rows' masks, (B, mask_words(I)), in the rows' batch order.
inline int mask_words(int I) { return (I + 63) / 64; }
int nonzero_mask(uint64_t* mask, const uint8_t* row, int I);
int nonzero_mask(uint64_t* mask, const float* row, int I);

// One group of rows[0 .. n) of pixels(B,I), n ≤ kRowGroup, merged: union(count) ascending positions in index(I),
// and at each the rows' values (pixel / 255, as torchvision's ToTensor; 0 where that row's pixel is 0) in
// value(I, kRowGroup); the slots past n get 0. With scale (I), each value times scale[k] (the folded transform's
// 1/σ, network.h).
int merge_row_group(int32_t* index, float* value, const uint8_t* pixels, const int32_t* rows, int n, int I,
                    const float* scale, const uint64_t* masks);
// The same for float inputs (N, I), each value as it is (times scale[k]).
int merge_row_group(int32_t* index, float* value, const float* features, const int32_t* rows, int n, int I,
                    const float* scale, const uint64_t* masks);

// out(B, ld), the rows of groups [g0, g1) = b1 + their inputs · W1ᵀ, then ReLU when relu. Group g holds rows
// order[g·kRowGroup .. min(B, (g+1)·kRowGroup)) and its merged inputs at index + g·I, value + g·I·kRowGroup.
// Only hidden units [h0, h1), multiples of kChunk.
void forward_row_groups(float* out, const float* w1t /* (I,ld) */, const float* b1 /* (Hp) */, const int32_t* order,
                        const int32_t* count, const int32_t* index, const float* value, int g0, int g1, int B, int I,
                        int h0, int h1, int ld, bool relu);

// Column groups [c0, c1) of pixels(B,I) (column_groups.h), merged over rows: group c's count[c] entries start at
// row + c·B and value + c·B·groups.size, each a row (ascending) with a non-zero input in the group and the group's
// values (pixel / 255, times scale[k] when given; where a patch is cut at the edge, any value: no sum of it is kept).
void merge_column_groups(int32_t* count, int32_t* row, float* value, const uint8_t* pixels, const ColumnGroups& groups,
                         int c0, int c1, int B, int I, const float* scale, const uint64_t* masks);
void merge_column_groups(int32_t* count, int32_t* row, float* value, const float* features, const ColumnGroups& groups,
                         int c0, int c1, int B, int I, const float* scale, const uint64_t* masks);

// dW1ᵀ(inputs of column groups [c0, c1), hidden units [h0, h1)) = Σ over each group's entries of value · Δ(row, :);
// h0 and h1 multiples of kChunk. With db, also the first layer's bias gradient db[j] = Σ_b Δ(b, j) (rows in order)
// for j in [h0, min(h1, H)).
void gradient_column_groups(float* dw1t /* (I,ld) */, float* db /* (H) or null */, const float* delta /* (B,ld) */,
                            const ColumnGroups& groups, const int32_t* count, const int32_t* row, const float* value,
                            int c0, int c1, int B, int H, int h0, int h1, int ld);

}  // namespace fcnet

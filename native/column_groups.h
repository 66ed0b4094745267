// Which inputs the sparse first layer's gradient takes together (sparse_tiles.h, gradient_column_groups): a tile
// loads each row of Δ it needs once for a whole group of inputs, and visits every row where any of them is
// non-zero, so a group should be inputs that are non-zero together, and as many as the registers hold.
//   images (the width known, at least 2 rows and 3 columns): 2×3 patches of neighbouring pixels;
//   anything else: 1×4 strips of adjacent inputs.
// MNIST, batch 1000: a patch is visited for 1.50 times its non-zero pixels, a strip for 1.48, but a patch's visit
// serves 6 inputs, not 4: a third fewer loads of Δ for as many multiplications (measured: the gradient phase 14 %
// faster). Patches at the right or bottom edge are cut to the image. The groups change which rows a tile visits,
// not one bit of the results while Δ is finite: each input's sum still runs over its non-zero rows in ascending
// order, and the zeros a group adds are exact. (A non-finite Δ makes 0·Δ NaN wherever a group visits, as the
// dense product does at every zero input: the gradient is not finite either way, only where its NaNs lie differs.)
// fit() with clipGradNorm computes its gradients through computeGradients, which knows no width: strips there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fcnet {

constexpr int kMaxGroupInputs = 6;

struct ColumnGroups {
  int width = 0;  // the image width the groups were made for; 0: strips
  int size = 0;   // inputs a group: 4 (strips) or 6 (patches)
  int count = 0;  // groups, in ascending order of their first (top-left) input
  std::vector<int32_t> inputs;    // (count, size) each group's inputs, −1 where a patch is cut at the edge; the
                                  // first, the top-left, is never cut
  std::vector<int32_t> reads;     // (count, size) where the merge reads them: a cut member reads the group's first
                                  // input, and its sum is never stored
  std::vector<int32_t> group_at;  // (I) the group whose first input is k, else −1
  std::vector<int32_t> offsets;   // (size) each member's offset from the first input: row · width + column
  std::vector<uint64_t> has;      // (size, mask_words(I)) bit k set where the group first at k has that member
};

// The image width the groups for I inputs and this width are made for: width when I is at least 2 rows of at
// least 3 pixels, else 0 (strips).
int column_groups_width(int I, int width);

// The groups for I inputs; width: pixels per image row, or 0 when the inputs are no image.
ColumnGroups make_column_groups(int I, int width);

// Word w of a row's group hits, from its non-zero mask (sparse_tiles.h, mask_words(I) words): bit k set where the
// group first at input k has a non-zero input. offsets and has: a ColumnGroups' of size G.
template <int G>
inline uint64_t group_hits(const int32_t* offsets, const uint64_t* has, const uint64_t* mask, int words, int w) {
  uint64_t hits = 0;
  for (int q = 0; q < G; q++) {
    // Bit k of `at` is bit k + offset of the row's mask: whether member q of the group first at k is non-zero.
    const int from = w + offsets[q] / 64, shift = offsets[q] % 64;
    uint64_t at = from < words ? mask[from] >> shift : 0;
    if (shift != 0 && from + 1 < words) at |= mask[from + 1] << (64 - shift);
    hits |= at & has[(size_t)q * words + w];
  }
  return hits;
}

}  // namespace fcnet

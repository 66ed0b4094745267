#include "column_groups.h"

#include "sparse_tiles.h"

namespace fcnet {

int column_groups_width(int I, int width) { return width >= 3 && I % width == 0 && I / width >= 2 ? width : 0; }

ColumnGroups make_column_groups(int I, int width) {
  const bool image = column_groups_width(I, width) != 0;
  // Strips are patches of one row of an image I wide.
  const int row_length = image ? width : I, rows = I / row_length;
  const int patch_rows = image ? 2 : 1, patch_columns = image ? 3 : 4;
  ColumnGroups g;
  g.width = image ? width : 0;
  g.size = patch_rows * patch_columns;
  for (int dy = 0; dy < patch_rows; dy++)
    for (int dx = 0; dx < patch_columns; dx++) g.offsets.push_back(dy * row_length + dx);
  const int words = mask_words(I);
  g.has.assign((size_t)g.size * words, 0);
  g.group_at.assign(I, -1);
  for (int y = 0; y < rows; y += patch_rows)
    for (int x = 0; x < row_length; x += patch_columns) {
      const int k = y * row_length + x;
      g.group_at[k] = g.count++;
      for (int q = 0; q < g.size; q++) {
        const int dy = q / patch_columns, dx = q % patch_columns;
        const bool inside = y + dy < rows && x + dx < row_length;
        g.inputs.push_back(inside ? k + g.offsets[q] : -1);
        g.reads.push_back(inside ? k + g.offsets[q] : k);
        if (inside) g.has[(size_t)q * words + k / 64] |= 1ull << (k % 64);
      }
    }
  return g;
}

}  // namespace fcnet

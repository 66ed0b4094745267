// A read-only view of a logical matrix (rows, cols) that kernels read element by element. Three layouts:
// float row-major, float transposed (element (r, c) stored at c*ld + r), and rows gathered from the uint8
// dataset through a list of row numbers (pixel / 255, as ToTensor divides). The gathered layout is what
// fuses "gather the batch" into the first layer's products: no float copy of the batch is ever made.
#pragma once

#include <cstddef>

#include "device_compat.cuh"

struct MatrixView {
  const float* data;           // float elements, or nullptr when the view gathers bytes
  const unsigned char* bytes;  // (N, ld) uint8 dataset, or nullptr
  const int* rows;             // (rows) dataset row of each logical row (bytes only)
  int ld;                      // elements between consecutive stored rows
  int transposed;              // float only: element (r, c) is data[c * ld + r]

  __device__ __forceinline__ float at(int r, int c) const {
    if (bytes != nullptr) return static_cast<float>(bytes[static_cast<size_t>(rows[r]) * ld + c]) / 255.0f;
    return transposed ? data[static_cast<size_t>(c) * ld + r] : data[static_cast<size_t>(r) * ld + c];
  }

  /** Whether elements (r, c) and (r, c + 1) are neighbours in memory: tiles are then read along columns. */
  __device__ __forceinline__ bool contiguous_along_cols() const { return bytes != nullptr || !transposed; }
};

/** (rows, cols) stored row-major with `ld` floats per row. */
inline MatrixView view_rows(const float* data, int ld) { return MatrixView{data, nullptr, nullptr, ld, 0}; }

/** The transpose of a row-major matrix with `ld` floats per row: element (r, c) is data[c * ld + r]. */
inline MatrixView view_transposed(const float* data, int ld) { return MatrixView{data, nullptr, nullptr, ld, 1}; }

/** Row r is dataset row rows[r] of `d` bytes, each divided by 255. */
inline MatrixView view_gathered(const unsigned char* bytes, const int* rows, int d) {
  return MatrixView{nullptr, bytes, rows, d, 0};
}

#include "sparse_tiles.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace fcnet {
namespace {

// Written with explicit vectors: GCC does not keep an accumulator array over an indirect (sparse) inner loop in
// registers by itself. Sixteen floats where the CPU has AVX-512's 32 wide registers, else eight.
typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));

template <typename V>
__attribute__((always_inline)) inline V load(const float* p) {
  V x;
  std::memcpy(&x, p, sizeof(V));
  return x;
}

template <typename V>
__attribute__((always_inline)) inline void store(float* p, V x) {
  std::memcpy(p, &x, sizeof(V));
}

// How many entries ahead a tile asks for the row it will read: the rows come in the order of the inputs' indices,
// not of memory, and half of them were last written by the other core (the optimizer splits by rows, the tiles by
// columns); 8 ahead measured the forward phase ~10 % faster (4 and 16 less, noisily).
constexpr int kPrefetchAhead = 8;
// acc[q][t] += value[e·G + q] · rows(which[e], c0 + lanes·t + (0 .. lanes)) for the entries [e0, e1): the loop
// both tiles run, over W1ᵀ's rows (forward) or Δ's (gradient), for groups of G rows or inputs.
template <typename V, int NV, int G>
__attribute__((always_inline)) inline void accumulate_entries(V (&acc)[G][NV], const float* rows, const int32_t* which,
                                                              const float* value, int e0, int e1, int c0, int ld) {
  constexpr int W = sizeof(V) / sizeof(float);
  for (int e = e0; e < e1; e++) {
    if (e + kPrefetchAhead < e1) {
      const float* next = rows + (size_t)which[e + kPrefetchAhead] * ld + c0;
      for (int t = 0; t < NV * W; t += 16) __builtin_prefetch(next + t);
    }
    const float* r = rows + (size_t)which[e] * ld + c0;
    V x[NV];
    for (int t = 0; t < NV; t++) x[t] = load<V>(r + W * t);
    const float* a = value + (size_t)e * G;
    for (int q = 0; q < G; q++)
      for (int t = 0; t < NV; t++) acc[q][t] += a[q] * x[t];
  }
}

// out(rows[0 .. n), c0 : c0 + NV·lanes) for one group of rows.
template <typename V, int NV>
__attribute__((always_inline)) inline void forward_tile(float* __restrict out, const int32_t* rows, int n,
                                                        const float* __restrict w1t, const float* __restrict b1,
                                                        const int32_t* __restrict index, const float* __restrict value,
                                                        int count, int c0, int ld, bool relu) {
  constexpr int W = sizeof(V) / sizeof(float);
  V acc[kRowGroup][NV];
  for (int t = 0; t < NV; t++) {
    const V b = load<V>(b1 + c0 + W * t);
    for (int q = 0; q < kRowGroup; q++) acc[q][t] = b;
  }
  accumulate_entries<V, NV, kRowGroup>(acc, w1t, index, value, 0, count, c0, ld);
  const V zero = {};
  // ReLU as `x < 0 ? 0 : x`, so that a NaN passes through (as in PyTorch) and the loss shows it.
  for (int q = 0; q < n; q++)
    for (int t = 0; t < NV; t++) {
      store(out + (size_t)rows[q] * ld + c0 + W * t, relu ? (acc[q][t] < zero ? zero : acc[q][t]) : acc[q][t]);
    }
}

template <typename V, int NV>
__attribute__((always_inline)) inline void forward_groups(float* out, const float* w1t, const float* b1,
                                                          const int32_t* order, const int32_t* count,
                                                          const int32_t* index, const float* value, int g0, int g1,
                                                          int B, int I, int h0, int h1, int ld, bool relu) {
  // Chunk-major: one chunk of W1ᵀ's columns stays in L2 while every group of rows passes over it.
  for (int c0 = h0; c0 < h1; c0 += NV * (int)(sizeof(V) / sizeof(float))) {
    for (int g = g0; g < g1; g++) {
      const int first = g * kRowGroup;
      forward_tile<V, NV>(out, order + first, std::min(kRowGroup, B - first), w1t, b1, index + (size_t)g * I,
                          value + (size_t)g * I * kRowGroup, count[g], c0, ld, relu);
    }
  }
}

// dW1ᵀ(the G inputs of one column group, c0 : c0 + NV·lanes) from its entries; an input of −1 (a patch cut at the
// image's edge) is not stored.
template <typename V, int NV, int G>
__attribute__((always_inline)) inline void gradient_tile(float* __restrict dw1t, const float* __restrict delta,
                                                         const int32_t* __restrict inputs, const int32_t* __restrict row,
                                                         const float* __restrict value, int e0, int e1, int c0, int ld) {
  constexpr int W = sizeof(V) / sizeof(float);
  V acc[G][NV];
  for (int q = 0; q < G; q++)
    for (int t = 0; t < NV; t++) acc[q][t] = V{};
  accumulate_entries<V, NV, G>(acc, delta, row, value, e0, e1, c0, ld);
  for (int q = 0; q < G; q++)
    if (inputs[q] >= 0)
      for (int t = 0; t < NV; t++) store(dw1t + (size_t)inputs[q] * ld + c0 + W * t, acc[q][t]);
}

// db[h : h + NV·lanes) = Σ_b Δ(b, h : ...), rows in order from 0; only the columns below H are written.
template <typename V, int NV>
__attribute__((always_inline)) inline void bias_gradient_chunk(float* db, const float* delta, int B, int H, int h,
                                                               int ld) {
  constexpr int W = sizeof(V) / sizeof(float);
  V acc[NV] = {};
  for (int b = 0; b < B; b++)
    for (int t = 0; t < NV; t++) acc[t] += load<V>(delta + (size_t)b * ld + h + W * t);
  float sum[NV * W];
  std::memcpy(sum, acc, sizeof sum);
  std::copy(sum, sum + std::max(0, std::min(NV * W, H - h)), db + h);
}

template <typename V, int NV, int G>
__attribute__((always_inline)) inline void gradient_groups(float* dw1t, float* db, const float* delta,
                                                           const ColumnGroups& groups, const int32_t* count,
                                                           const int32_t* row, const float* value, int c0, int c1,
                                                           int B, int H, int h0, int h1, int ld) {
  // Chunk-major, as the forward: the chunk's columns of Δ (B rows) stay in L2 while every group passes over them;
  // group-major swept all of Δ once per group (a batch of 1000 is 2 MB of it), from L3. The bias's sums first,
  // which bring the chunk in.
  for (int h = h0; h < h1; h += NV * (int)(sizeof(V) / sizeof(float))) {
    if (db != nullptr) bias_gradient_chunk<V, NV>(db, delta, B, H, h, ld);
    for (int c = c0; c < c1; c++) {
      const int e0 = c * B;
      gradient_tile<V, NV, G>(dw1t, delta, groups.inputs.data() + (size_t)c * G, row, value, e0, e0 + count[c], h, ld);
    }
  }
}

// The tile's shape for the groups' size (column_groups.h).
template <typename V, int NV>
__attribute__((always_inline)) inline void gradient_groups_sized(float* dw1t, float* db, const float* delta,
                                                                 const ColumnGroups& groups, const int32_t* count,
                                                                 const int32_t* row, const float* value, int c0,
                                                                 int c1, int B, int H, int h0, int h1, int ld) {
  if (groups.size == 6)
    gradient_groups<V, NV, 6>(dw1t, db, delta, groups, count, row, value, c0, c1, B, H, h0, h1, ld);
  else
    gradient_groups<V, NV, 4>(dw1t, db, delta, groups, count, row, value, c0, c1, B, H, h0, h1, ld);
}

// Each shape compiled for every x86-64 level; the wide one is only fast where the CPU has AVX-512.
FCNET_CLONES
void forward_groups_wide(float* out, const float* w1t, const float* b1, const int32_t* order, const int32_t* count,
                         const int32_t* index, const float* value, int g0, int g1, int B, int I, int h0, int h1, int ld,
                         bool relu) {
  forward_groups<v16f, 4>(out, w1t, b1, order, count, index, value, g0, g1, B, I, h0, h1, ld, relu);
}

FCNET_CLONES
void forward_groups_narrow(float* out, const float* w1t, const float* b1, const int32_t* order, const int32_t* count,
                           const int32_t* index, const float* value, int g0, int g1, int B, int I, int h0, int h1, int ld,
                           bool relu) {
  forward_groups<v8f, 2>(out, w1t, b1, order, count, index, value, g0, g1, B, I, h0, h1, ld, relu);
}

FCNET_CLONES
void gradient_groups_wide(float* dw1t, float* db, const float* delta, const ColumnGroups& groups, const int32_t* count,
                          const int32_t* row, const float* value, int c0, int c1, int B, int H, int h0, int h1, int ld) {
  gradient_groups_sized<v16f, 4>(dw1t, db, delta, groups, count, row, value, c0, c1, B, H, h0, h1, ld);
}

FCNET_CLONES
void gradient_groups_narrow(float* dw1t, float* db, const float* delta, const ColumnGroups& groups,
                            const int32_t* count, const int32_t* row, const float* value, int c0, int c1, int B, int H,
                            int h0, int h1, int ld) {
  gradient_groups_sized<v8f, 2>(dw1t, db, delta, groups, count, row, value, c0, c1, B, H, h0, h1, ld);
}


// pixel / 255 for every byte, computed once: the merges convert tens of thousands of pixels a step.
const float* pixel_scale() {
  static const struct Table {
    float value[256];
    Table() {
      for (int i = 0; i < 256; i++) value[i] = (float)i / 255.0f;
    }
  } table;
  return table.value;
}

// FCNET_SIMD=avx2 takes the eight-float shape on any CPU: the tests check that both shapes give the same bits.
bool wide_vectors() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool wide = [] {
    const char* simd = std::getenv("FCNET_SIMD");
    return __builtin_cpu_supports("avx512f") && !(simd != nullptr && std::strcmp(simd, "avx2") == 0);
  }();
  return wide;
#else
  return false;
#endif
}

}  // namespace

int tile_vector_floats() { return wide_vectors() ? 16 : 8; }

namespace {

// The value of one input: a pixel scaled by 1/255 through the table, or a float as it is.
inline float input_value(uint8_t v, const float* scale) { return scale[v]; }
inline float input_value(float v, const float*) { return v; }

// One bit a byte of w: bit i set where byte i (little-endian) is non-zero. The high bit of each byte first, with
// no carry between bytes, then gathered by one multiplication.
inline uint64_t nonzero_bytes(uint64_t w) {
  const uint64_t high = (((w & 0x7f7f7f7f7f7f7f7full) + 0x7f7f7f7f7f7f7f7full) | w) & 0x8080808080808080ull;
  return ((high >> 7) * 0x0102040810204080ull) >> 56;
}

template <typename T>
int merge_rows(int32_t* index, float* value, const T* inputs, const int32_t* rows, int n, int I,
               const float* column_scale, const uint64_t* masks) {
  const int words = mask_words(I);
  const T* row[kRowGroup];
  const uint64_t* mask[kRowGroup];
  for (int q = 0; q < n; q++) {
    row[q] = inputs + (size_t)rows[q] * I;
    mask[q] = masks + (size_t)rows[q] * words;
  }
  const float* scale = pixel_scale();
  int count = 0;
  for (int w = 0; w < words; w++) {  // the union of the rows' non-zero positions, ascending
    uint64_t any = 0;
    for (int q = 0; q < n; q++) any |= mask[q][w];
    for (; any != 0; any &= any - 1) {
      const int k = w * 64 + __builtin_ctzll(any);
      index[count] = k;
      float* v = value + (size_t)count * kRowGroup;
      const float times = column_scale != nullptr ? column_scale[k] : 1.0f;
      for (int q = 0; q < kRowGroup; q++) v[q] = q < n ? input_value(row[q][k], scale) * times : 0.0f;
      count++;
    }
  }
  return count;
}

template <typename T, int G>
void merge_columns(int32_t* count, int32_t* row, float* value, const T* inputs, const ColumnGroups& groups, int c0,
                   int c1, int B, int I, const float* column_scale, const uint64_t* masks) {
  if (c0 >= c1) return;
  const float* scale = pixel_scale();
  const int words = mask_words(I);
  // Counted here, stored once at the end: the tasks that merge neighbouring ranges of groups side by side would
  // otherwise share the cache lines of count at every entry.
  std::vector<int32_t> counted(c1 - c0, 0);
  // The groups' first inputs lie in [k0, k1]; their inputs in [k0, last].
  const int k0 = groups.inputs[(size_t)c0 * G], k1 = groups.inputs[(size_t)(c1 - 1) * G];
  const int last = std::min(I - 1, k1 + groups.offsets.back());
  // Where a row's inputs of these groups lie, a few rows ahead: the other core gathered half the rows, so most of
  // these lines come from its cache, and one row at a time leaves each miss to wait alone.
  constexpr int kRowsAhead = 8;
  const size_t first_byte = (size_t)k0 * sizeof(T), last_byte = (size_t)(last + 1) * sizeof(T);
  auto ask = [&](int r) {
    prefetch_bytes(reinterpret_cast<const char*>(inputs + (size_t)r * I) + first_byte, last_byte - first_byte);
  };
  for (int r = 0; r < std::min(B, kRowsAhead); r++) ask(r);
  // The tables in locals: the compiler cannot tell that the stores below leave them alone.
  int32_t offsets[G];
  std::copy(groups.offsets.begin(), groups.offsets.end(), offsets);
  const uint64_t* has = groups.has.data();
  const int32_t* group_at = groups.group_at.data();
  const int32_t* reads = groups.reads.data();
  for (int r = 0; r < B; r++) {  // rows outer, in order: every group lists its rows ascending
    if (r + kRowsAhead < B) ask(r + kRowsAhead);
    const T* p = inputs + (size_t)r * I;
    const uint64_t* mask = masks + (size_t)r * words;
    for (int w = k0 / 64; w <= k1 / 64; w++) {
      uint64_t bits = group_hits<G>(offsets, has, mask, words, w);
      if (w == k0 / 64) bits &= ~0ull << (k0 % 64);
      if (w == k1 / 64 && k1 % 64 != 63) bits &= (2ull << (k1 % 64)) - 1;
      for (; bits != 0; bits &= bits - 1) {
        const int c = group_at[w * 64 + __builtin_ctzll(bits)];
        const size_t e = (size_t)c * B + counted[c - c0]++;
        row[e] = r;
        const int32_t* in = reads + (size_t)c * G;
        float* v = value + e * G;
        if (column_scale != nullptr)
          for (int q = 0; q < G; q++) v[q] = input_value(p[in[q]], scale) * column_scale[in[q]];
        else
          for (int q = 0; q < G; q++) v[q] = input_value(p[in[q]], scale);
      }
    }
  }
  std::copy(counted.begin(), counted.end(), count + c0);
}

template <typename T>
void merge_columns_sized(int32_t* count, int32_t* row, float* value, const T* inputs, const ColumnGroups& groups,
                         int c0, int c1, int B, int I, const float* column_scale, const uint64_t* masks) {
  if (groups.size == 6) merge_columns<T, 6>(count, row, value, inputs, groups, c0, c1, B, I, column_scale, masks);
  else merge_columns<T, 4>(count, row, value, inputs, groups, c0, c1, B, I, column_scale, masks);
}

}  // namespace

#if defined(__x86_64__) && defined(__GNUC__)
// One compare of 64 bytes to zero a word.
__attribute__((target("avx512f,avx512bw,popcnt"))) int nonzero_mask_avx512(uint64_t* mask, const uint8_t* row,
                                                                           int I) {
  int count = 0;
  for (int w = 0; w < mask_words(I); w++) {
    const int n = std::min(64, I - w * 64);
    const __mmask64 in_row = n == 64 ? ~0ull : (1ull << n) - 1;
    const __m512i bytes = _mm512_maskz_loadu_epi8(in_row, row + w * 64);
    mask[w] = _mm512_test_epi8_mask(bytes, bytes);
    count += __builtin_popcountll(mask[w]);
  }
  return count;
}
#endif

int nonzero_mask(uint64_t* mask, const uint8_t* row, int I) {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool avx512 = __builtin_cpu_supports("avx512bw");
  if (avx512) return nonzero_mask_avx512(mask, row, I);
#endif
  int count = 0;
  for (int w = 0; w < mask_words(I); w++) {
    uint64_t bits = 0;
    const int k0 = w * 64, n = std::min(64, I - k0);
    int b = 0;
    for (; b + 8 <= n; b += 8) {
      uint64_t word;
      std::memcpy(&word, row + k0 + b, 8);
      bits |= nonzero_bytes(word) << b;
    }
    for (; b < n; b++) bits |= (uint64_t)(row[k0 + b] != 0) << b;
    mask[w] = bits;
    count += __builtin_popcountll(bits);
  }
  return count;
}

int nonzero_mask(uint64_t* mask, const float* row, int I) {
  int count = 0;
  for (int w = 0; w < mask_words(I); w++) {
    uint64_t bits = 0;
    const int k0 = w * 64, n = std::min(64, I - k0);
    for (int b = 0; b < n; b++) bits |= (uint64_t)(row[k0 + b] != 0.0f) << b;
    mask[w] = bits;
    count += __builtin_popcountll(bits);
  }
  return count;
}

int merge_row_group(int32_t* index, float* value, const uint8_t* pixels, const int32_t* rows, int n, int I,
                    const float* scale, const uint64_t* masks) {
  return merge_rows(index, value, pixels, rows, n, I, scale, masks);
}

int merge_row_group(int32_t* index, float* value, const float* features, const int32_t* rows, int n, int I,
                    const float* scale, const uint64_t* masks) {
  return merge_rows(index, value, features, rows, n, I, scale, masks);
}

void forward_row_groups(float* out, const float* w1t, const float* b1, const int32_t* order, const int32_t* count,
                        const int32_t* index, const float* value, int g0, int g1, int B, int I, int h0, int h1, int ld,
                        bool relu) {
  if (wide_vectors()) forward_groups_wide(out, w1t, b1, order, count, index, value, g0, g1, B, I, h0, h1, ld, relu);
  else forward_groups_narrow(out, w1t, b1, order, count, index, value, g0, g1, B, I, h0, h1, ld, relu);
}

void merge_column_groups(int32_t* count, int32_t* row, float* value, const uint8_t* pixels, const ColumnGroups& groups,
                         int c0, int c1, int B, int I, const float* scale, const uint64_t* masks) {
  merge_columns_sized(count, row, value, pixels, groups, c0, c1, B, I, scale, masks);
}

void merge_column_groups(int32_t* count, int32_t* row, float* value, const float* features, const ColumnGroups& groups,
                         int c0, int c1, int B, int I, const float* scale, const uint64_t* masks) {
  merge_columns_sized(count, row, value, features, groups, c0, c1, B, I, scale, masks);
}

void gradient_column_groups(float* dw1t, float* db, const float* delta, const ColumnGroups& groups,
                            const int32_t* count, const int32_t* row, const float* value, int c0, int c1, int B, int H,
                            int h0, int h1, int ld) {
  if (wide_vectors()) gradient_groups_wide(dw1t, db, delta, groups, count, row, value, c0, c1, B, H, h0, h1, ld);
  else gradient_groups_narrow(dw1t, db, delta, groups, count, row, value, c0, c1, B, H, h0, h1, ld);
}

}  // namespace fcnet

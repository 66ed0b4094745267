// The tiled matrix-product kernel that training runs (see gemm.cuh for the product and its epilogues). One
// launch runs a group of independent products (all layers' weight gradients of a step at once), each block
// finding its problem by index.
//
// Tiles: a block computes BM×BN outputs; each of its KSPLIT thread groups sums its own slice of each BK-deep
// tile (TM×TN outputs a thread), and the slices are added at the end. Splitting K inside the block keeps
// enough blocks in flight for the forward product at batch 100 (M=100, N=500, K=784: 112 blocks of 16×32)
// without a second pass. Every read is bounds-checked, so any sizes work.
#pragma once

#include "gemm.cuh"

/** Loads T consecutive floats of shared memory into registers, as wide as the alignment allows. */
template <int T>
__device__ __forceinline__ void load_fragment(float (&r)[T], const float* p) {
  if constexpr (T % 4 == 0) {
#pragma unroll
    for (int q = 0; q < T / 4; ++q) {
      const float4 v = reinterpret_cast<const float4*>(p)[q];
      r[4 * q + 0] = v.x;
      r[4 * q + 1] = v.y;
      r[4 * q + 2] = v.z;
      r[4 * q + 3] = v.w;
    }
  } else if constexpr (T % 2 == 0) {
#pragma unroll
    for (int q = 0; q < T / 2; ++q) {
      const float2 v = reinterpret_cast<const float2*>(p)[q];
      r[2 * q + 0] = v.x;
      r[2 * q + 1] = v.y;
    }
  } else {
#pragma unroll
    for (int q = 0; q < T; ++q) r[q] = p[q];
  }
}

template <int BM, int BN, int BK, int TM, int TN, int KSPLIT>
struct GemmTile {
  static constexpr int kGroupThreads = (BM / TM) * (BN / TN);
  static constexpr int kThreads = kGroupThreads * KSPLIT;
  static constexpr int kSliceK = BK / KSPLIT;
  static constexpr int kBM = BM;
  static constexpr int kBN = BN;
  static constexpr int kBK = BK;
  static constexpr int kTM = TM;
  static constexpr int kTN = TN;
  static constexpr int kSplits = KSPLIT;
  static_assert(BM % TM == 0 && BN % TN == 0 && BK % KSPLIT == 0, "tile shape");
  static_assert(BM % 4 == 0 && BN % 4 == 0, "shared rows must stay 16-byte aligned");
  static_assert(kThreads % 32 == 0 && kThreads >= BM, "whole warps; one thread per row for the bias gradient");
};

template <int BM, int BN, int BK, int TM, int TN, int KSPLIT>
__global__ void __launch_bounds__(GemmTile<BM, BN, BK, TM, TN, KSPLIT>::kThreads)
    gemm_grouped_kernel(const __grid_constant__ GemmGroup group) {
  using Tile = GemmTile<BM, BN, BK, TM, TN, KSPLIT>;
  constexpr int kPad = 4;  // keeps rows 16-byte aligned and spreads the transposing stores over banks
  __shared__ __align__(16) float a_tile[BK][BM + kPad];  // (BK, BM): A's tile, K-major
  __shared__ __align__(16) float b_tile[BK][BN + kPad];  // (BK, BN)
  __shared__ __align__(16) float partial[KSPLIT > 1 ? (KSPLIT - 1) * BM * BN : 1];  // other slices' sums

  int which = 0;
  while (which + 1 < group.count && static_cast<int>(blockIdx.x) >= group.problems[which + 1].first_tile) ++which;
  const GemmProblem& p = group.problems[which];
  const int tile = static_cast<int>(blockIdx.x) - p.first_tile;
  const int m0 = (tile / p.tiles_n) * BM;
  const int n0 = (tile % p.tiles_n) * BN;

  const int tid = static_cast<int>(threadIdx.x);
  const int slice = tid / Tile::kGroupThreads;
  const int t = tid % Tile::kGroupThreads;
  const int tx = t % (BN / TN);
  const int ty = t / (BN / TN);

  // Consecutive threads read consecutive addresses: along K when A's rows are contiguous, else along M.
  const bool a_along_k = p.a.contiguous_along_cols();
  const bool b_along_n = p.b.contiguous_along_cols();

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

  // Tile elements a thread moves from global to shared memory: element e = tid + r·kThreads of each tile.
  constexpr int kAPerThread = (BM * BK + Tile::kThreads - 1) / Tile::kThreads;
  constexpr int kBPerThread = (BK * BN + Tile::kThreads - 1) / Tile::kThreads;
  float a_next[kAPerThread];  // the next tile of A, in flight while this one is multiplied
  float b_next[kBPerThread];
  auto a_place = [&](int e, int& kk, int& mm) {
    kk = a_along_k ? e % BK : e / BM;
    mm = a_along_k ? e / BK : e % BM;
  };
  auto b_place = [&](int e, int& kk, int& nn) {
    kk = b_along_n ? e / BN : e % BK;
    nn = b_along_n ? e % BN : e / BK;
  };
  auto fetch = [&](int k0) {  // global → registers; the loads stay in flight until stash() uses them
#pragma unroll
    for (int r = 0; r < kAPerThread; ++r) {
      const int e = tid + r * Tile::kThreads;
      int kk = 0, mm = 0;
      a_place(e, kk, mm);
      const int gm = m0 + mm, gk = k0 + kk;
      a_next[r] = (e < BM * BK && gm < p.M && gk < p.K) ? p.a.at(gm, gk) : 0.0f;
    }
#pragma unroll
    for (int r = 0; r < kBPerThread; ++r) {
      const int e = tid + r * Tile::kThreads;
      int kk = 0, nn = 0;
      b_place(e, kk, nn);
      const int gk = k0 + kk, gn = n0 + nn;
      b_next[r] = (e < BK * BN && gk < p.K && gn < p.N) ? p.b.at(gk, gn) : 0.0f;
    }
  };
  auto stash = [&]() {  // registers → shared memory
#pragma unroll
    for (int r = 0; r < kAPerThread; ++r) {
      const int e = tid + r * Tile::kThreads;
      int kk = 0, mm = 0;
      a_place(e, kk, mm);
      if (e < BM * BK) a_tile[kk][mm] = a_next[r];
    }
#pragma unroll
    for (int r = 0; r < kBPerThread; ++r) {
      const int e = tid + r * Tile::kThreads;
      int kk = 0, nn = 0;
      b_place(e, kk, nn);
      if (e < BK * BN) b_tile[kk][nn] = b_next[r];
    }
  };

  // Software pipelining: the next tile's global loads are issued before this tile's products, so their
  // latency hides behind the arithmetic instead of adding to it.
  fetch(0);
  for (int k0 = 0; k0 < p.K; k0 += BK) {
    stash();
    __syncthreads();
    if (k0 + BK < p.K) fetch(k0 + BK);
#pragma unroll
    for (int q = 0; q < Tile::kSliceK; ++q) {
      const int kk = slice * Tile::kSliceK + q;
      float a[TM], b[TN];
      load_fragment<TM>(a, &a_tile[kk][ty * TM]);
      load_fragment<TN>(b, &b_tile[kk][tx * TN]);
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }

  if constexpr (KSPLIT > 1) {
    if (slice > 0) {
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) partial[((slice - 1) * BM + ty * TM + i) * BN + tx * TN + j] = acc[i][j];
    }
    __syncthreads();
    if (slice == 0) {
      for (int s = 0; s < KSPLIT - 1; ++s)
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] += partial[(s * BM + ty * TM + i) * BN + tx * TN + j];
    }
  }

  const bool adam = gemm_applies_adam(p);
  if (slice == 0) {
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const int m = m0 + ty * TM + i;
      if (m >= p.M) continue;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const int n = n0 + tx * TN + j;
        if (n < p.N) gemm_finish_output(p, m, n, acc[i][j], adam);
      }
    }
  }

  // Bias gradients: one thread a row, in the blocks of the first column of tiles.
  if (p.epilogue == kEpilogueWeightGradient && p.bias_grad != nullptr && n0 == 0 && tid < BM && m0 + tid < p.M) {
    gemm_finish_bias_gradient(p, m0 + tid, adam);
  }
}

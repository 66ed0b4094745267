// Launchers of the tiled product for the three jobs of a linear layer, and the choice of tile shape.
#include "linear.cuh"

#include <algorithm>

#include "gemm_naive.cuh"
#include "gemm_tiled.cuh"
#include "launch.cuh"

namespace {

// Small tiles split K four ways: for the forward products at batch 100, where M·N is small and K is long.
// BK = 112 takes K = 784 in 7 deep steps: each waits once for its loads, so few steps means little waiting.
// Medium and large tiles: for the weight gradients, where M·N is large and K (the batch) short: BK = 50
// takes a batch of 100 in 2 steps.
using TileSmall = GemmTile<16, 32, 112, 2, 4, 4>;
using TileMedium = GemmTile<32, 64, 50, 4, 4, 1>;
using TileLarge = GemmTile<64, 64, 50, 4, 4, 1>;

int ceil_div(int a, int b) { return (a + b - 1) / b; }

int count_tiles(const GemmProblem* problems, int count, int bm, int bn) {
  int tiles = 0;
  for (int i = 0; i < count; ++i) tiles += ceil_div(problems[i].M, bm) * ceil_div(problems[i].N, bn);
  return tiles;
}

/** The largest tile that still gives every SM a block; the smallest when none does. */
int choose_tile(const GemmProblem* problems, int count, const GemmTuning& tuning) {
  if (tuning.forced_tile >= 0) return tuning.forced_tile;
  if (count_tiles(problems, count, TileLarge::kBM, TileLarge::kBN) >= tuning.multiprocessors) return 2;
  if (count_tiles(problems, count, TileMedium::kBM, TileMedium::kBN) >= tuning.multiprocessors) return 1;
  return 0;
}

template <typename Tile>
void launch_group(GemmGroup& group, cudaStream_t stream) {
  int tiles = 0;
  for (int i = 0; i < group.count; ++i) {
    GemmProblem& p = group.problems[i];
    p.first_tile = tiles;
    p.tiles_n = ceil_div(p.N, Tile::kBN);
    tiles += ceil_div(p.M, Tile::kBM) * p.tiles_n;
  }
  launch_kernel("gemm_grouped_kernel",
                gemm_grouped_kernel<Tile::kBM, Tile::kBN, Tile::kBK, Tile::kTM, Tile::kTN, Tile::kSplits>, dim3(tiles),
                dim3(Tile::kThreads), 0, stream, group);
}

/** The reference kernel: one block for every kGemmNaiveThreads outputs. */
void launch_naive_group(GemmGroup& group, cudaStream_t stream) {
  int blocks = 0;
  for (int i = 0; i < group.count; ++i) {
    GemmProblem& p = group.problems[i];
    p.first_tile = blocks;
    blocks += static_cast<int>((static_cast<long long>(p.M) * p.N + kGemmNaiveThreads - 1) / kGemmNaiveThreads);
  }
  launch_kernel("gemm_naive_kernel", gemm_naive_kernel, dim3(blocks), dim3(kGemmNaiveThreads), 0, stream, group);
}

/** Runs independent products, kMaxGemmGroup to a launch. */
void run_products(const GemmProblem* problems, int count, const GemmTuning& tuning, cudaStream_t stream) {
  for (int first = 0; first < count; first += kMaxGemmGroup) {
    GemmGroup group{};
    group.count = std::min(kMaxGemmGroup, count - first);
    for (int i = 0; i < group.count; ++i) group.problems[i] = problems[first + i];
    switch (choose_tile(group.problems, group.count, tuning)) {
      case 3: launch_naive_group(group, stream); break;
      case 2: launch_group<TileLarge>(group, stream); break;
      case 1: launch_group<TileMedium>(group, stream); break;
      default: launch_group<TileSmall>(group, stream); break;
    }
  }
}

}  // namespace

void linear_forward(float* out, const MatrixView& x, const float* w, const float* b, int B, int I, int O, bool relu,
                    const GemmTuning& tuning, cudaStream_t stream) {
  GemmProblem p{};
  p.M = B;
  p.N = O;
  p.K = I;
  p.a = x;                         // (B, I)
  p.b = view_transposed(w, I);     // (I, O): w is (O, I)
  p.c = out;                       // (B, O)
  p.ldc = O;
  p.epilogue = kEpilogueBiasActivation;
  p.bias = b;
  p.relu = relu ? 1 : 0;
  run_products(&p, 1, tuning, stream);
}

void linear_backward_input(float* dx, const float* dout, const float* w, const float* relu_out, int B, int I, int O,
                           const GemmTuning& tuning, cudaStream_t stream) {
  GemmProblem p{};
  p.M = B;
  p.N = I;
  p.K = O;
  p.a = view_rows(dout, O);  // (B, O)
  p.b = view_rows(w, I);     // (O, I)
  p.c = dx;                  // (B, I)
  p.ldc = I;
  p.epilogue = kEpilogueReluMask;
  p.mask = relu_out;         // (B, I)
  run_products(&p, 1, tuning, stream);
}

void linear_backward_weights(const WeightGradient* layers, int count, int B, const AdamScalars* adam,
                             const int* skip_adam, const GemmTuning& tuning, cudaStream_t stream) {
  GemmProblem problems[kMaxGemmGroup];
  for (int first = 0; first < count; first += kMaxGemmGroup) {
    const int n = std::min(kMaxGemmGroup, count - first);
    for (int i = 0; i < n; ++i) {
      const WeightGradient& l = layers[first + i];
      GemmProblem p{};
      p.M = l.O;
      p.N = l.I;
      p.K = B;
      p.a = view_transposed(l.dout, l.O);  // (O, B): dout is (B, O)
      p.b = l.x;                           // (B, I)
      p.c = l.dw;                          // (O, I)
      p.ldc = l.I;
      p.epilogue = kEpilogueWeightGradient;
      p.bias_grad = l.db;
      p.adam = adam;
      p.skip_adam = skip_adam;
      p.w_param = l.w;
      p.w_m = l.w_m;
      p.w_v = l.w_v;
      p.b_param = l.b;
      p.b_m = l.b_m;
      p.b_v = l.b_v;
      problems[i] = p;
    }
    run_products(problems, n, tuning, stream);
  }
}

#include "optimizer_loops.h"

#include "simd.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace fcnet {
namespace {

// Denormal results flushed to zero, and denormal inputs read as zero, for the duration of one loop on this thread
// (the caller's floating-point mode comes back after: Node's own code needs IEEE denormals). The moments of inputs
// that stay zero decay geometrically (m by β1 = 0.9 a step) into float32's denormal range after about a thousand
// steps, and each denormal operation then costs a microcode assist: Adam's share of a reference step grew from
// 0.20 to 0.66 ms by step 3000 without this, and stays at 0.18 with it. PyTorch keeps the denormals: what differs
// is a moment below 1.2e-38 held as 0 (and a denormal gradient or parameter read as 0 by the update: DAZ), so a
// parameter changes only when it was itself denormal (an update lr·m/(√v/c + ε) from a denormal moment is far
// below half an ulp of any normal parameter). Measured: after 3000 steps of the reference job, every parameter
// and exp_avg_sq bit for bit the same, and 209 of 397,510 exp_avg values differ, by at most 6e-45.
class FlushDenormals {
 public:
#if defined(__x86_64__) || defined(__i386__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040); }  // FTZ | DAZ
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#elif defined(__aarch64__)
  FlushDenormals() {
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(saved_)::"memory");
    __asm__ __volatile__("msr fpcr, %0" ::"r"(saved_ | (1ull << 24)) : "memory");  // FZ
  }
  // The clobbers keep the loop's loads and stores between the two writes once it is inlined (arm64 has no clones).
  ~FlushDenormals() { __asm__ __volatile__("msr fpcr, %0" ::"r"(saved_) : "memory"); }

 private:
  unsigned long long saved_;
#endif
};

// Rows of contiguous values: GCC vectorizes the inner loop at each clone's width (Adam: two divisions and a square
// root a value), and the loads stream through whole rows.
template <OptimizerKind K, bool Fold>
__attribute__((always_inline)) inline void step_rows(float* __restrict wt, float* __restrict mt, float* __restrict vt,
                                                     const float* __restrict gt, int k0, int k1, int j0, int j1,
                                                     int ld, const StepConstants& c, const FirstLayerFold& f) {
  for (int k = k0; k < k1; k++) {
    const size_t row = (size_t)k * ld;
    float* __restrict w = wt + row;
    float* __restrict m = mt + row;
    float* __restrict v = vt + row;
    const float* __restrict g = gt + row;
    if (Fold) {
      const float coef = f.coef[k];
      for (int j = j0; j < j1; j++) w[j] = update_value<K>(w[j], g[j] - coef * f.db[j], m[j], v[j], c);
    } else {
      for (int j = j0; j < j1; j++) w[j] = update_value<K>(w[j], g[j], m[j], v[j], c);
    }
  }
}

template <OptimizerKind K>
FCNET_CLONES void step_rows_plain(float* wt, float* mt, float* vt, const float* gt, int k0, int k1, int j0, int j1,
                                  int ld, const StepConstants& c) {
  step_rows<K, false>(wt, mt, vt, gt, k0, k1, j0, j1, ld, c, FirstLayerFold{});
}

template <OptimizerKind K>
FCNET_CLONES void step_rows_folded(float* wt, float* mt, float* vt, const float* gt, int k0, int k1, int j0, int j1,
                                   int ld, const StepConstants& c, const FirstLayerFold& fold) {
  step_rows<K, true>(wt, mt, vt, gt, k0, k1, j0, j1, ld, c, fold);
}

template <OptimizerKind K>
FCNET_CLONES void step_values(float* __restrict p, const float* __restrict g, float* __restrict m,
                              float* __restrict v, size_t n, const StepConstants& c) {
  for (size_t i = 0; i < n; i++) p[i] = update_value<K>(p[i], g[i], m[i], v[i], c);
}

template <OptimizerKind K>
void step_first_layer_as(float* wt, float* mt, float* vt, const float* gt, int k0, int k1, int j0, int j1, int ld,
                         const StepConstants& c, const FirstLayerFold& fold) {
  if (fold.coef != nullptr) step_rows_folded<K>(wt, mt, vt, gt, k0, k1, j0, j1, ld, c, fold);
  else step_rows_plain<K>(wt, mt, vt, gt, k0, k1, j0, j1, ld, c);
}

}  // namespace

void step_first_layer(float* wt, float* mt, float* vt, const float* gt, int k0, int k1, int j0, int j1, int ld,
                      const StepConstants& c, const FirstLayerFold& fold) {
  const FlushDenormals flush;
  using K = OptimizerKind;
  switch (c.kind) {
    case K::kAdam: return step_first_layer_as<K::kAdam>(wt, mt, vt, gt, k0, k1, j0, j1, ld, c, fold);
    case K::kAdamW: return step_first_layer_as<K::kAdamW>(wt, mt, vt, gt, k0, k1, j0, j1, ld, c, fold);
    case K::kSGD: return step_first_layer_as<K::kSGD>(wt, mt, vt, gt, k0, k1, j0, j1, ld, c, fold);
  }
}

FCNET_CLONES
void fold_rows(const float* __restrict wt, float* __restrict partial, const float* __restrict coef, int k0, int k1,
               int j0, int j1, int ld) {
  for (int j = j0; j < j1; j++) partial[j] = 0.0f;
  for (int k = k0; k < k1; k++) {
    const float* __restrict row = wt + (size_t)k * ld;
    const float ck = coef[k];
    for (int j = j0; j < j1; j++) partial[j] += row[j] * ck;
  }
}

void step_range(float* p, const float* g, float* m, float* v, size_t n, const StepConstants& c) {
  const FlushDenormals flush;
  switch (c.kind) {
    case OptimizerKind::kAdam: return step_values<OptimizerKind::kAdam>(p, g, m, v, n, c);
    case OptimizerKind::kAdamW: return step_values<OptimizerKind::kAdamW>(p, g, m, v, n, c);
    case OptimizerKind::kSGD: return step_values<OptimizerKind::kSGD>(p, g, m, v, n, c);
  }
}

}  // namespace fcnet

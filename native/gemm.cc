#include "gemm.h"

#include <algorithm>
#include <cstddef>

#if FCNET_USE_CBLAS
#include <cblas.h>
#endif

namespace fcnet {
namespace {

// Tile sizes: a KC×NC panel of B (64×256 floats = 64 KB) stays in L2 while every row of A streams past it.
constexpr int KC = 64;
constexpr int NC = 256;

inline float at(const float* X, bool trans, int ld, int row, int col) {
  return trans ? X[(size_t)col * ld + row] : X[(size_t)row * ld + col];
}

void scale_c(int M, int N, float beta, float* C, int ldc) {
  for (int i = 0; i < M; i++) {
    float* c = C + (size_t)i * ldc;
    if (beta == 0.0f) std::fill(c, c + N, 0.0f);  // BLAS semantics: beta 0 ignores NaNs already in C
    else if (beta != 1.0f) for (int j = 0; j < N; j++) c[j] *= beta;
  }
}

// B not transposed: rows of B are contiguous along N, so each C row gets axpys of B rows (vectorises).
void gemm_b_rows(bool transA, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                 float* C, int ldc) {
  for (int n0 = 0; n0 < N; n0 += NC) {
    const int n1 = std::min(N, n0 + NC);
    for (int k0 = 0; k0 < K; k0 += KC) {
      const int k1 = std::min(K, k0 + KC);
      for (int i = 0; i < M; i++) {
        float* c = C + (size_t)i * ldc;
        for (int k = k0; k < k1; k++) {
          const float a = alpha * at(A, transA, lda, i, k);
          if (a == 0.0f) continue;  // MNIST rows are mostly zeros
          const float* b = B + (size_t)k * ldb;
          for (int j = n0; j < n1; j++) c[j] += a * b[j];
        }
      }
    }
  }
}

// B transposed: B is (N,K), so C(i,j) is a dot product of two contiguous K-rows when A is not transposed.
void gemm_b_cols(bool transA, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                 float* C, int ldc) {
  constexpr int LANES = 8;  // independent partial sums: the compiler keeps them in one vector register
  for (int j0 = 0; j0 < N; j0 += 16) {
    const int j1 = std::min(N, j0 + 16);
    for (int i = 0; i < M; i++) {
      float* c = C + (size_t)i * ldc;
      for (int j = j0; j < j1; j++) {
        const float* b = B + (size_t)j * ldb;
        float sum = 0.0f;
        if (!transA) {
          const float* a = A + (size_t)i * lda;
          float acc[LANES] = {0};
          int k = 0;
          for (; k + LANES <= K; k += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += a[k + l] * b[k + l];
          for (; k < K; k++) sum += a[k] * b[k];
          for (int l = 0; l < LANES; l++) sum += acc[l];
        } else {
          for (int k = 0; k < K; k++) sum += A[(size_t)k * lda + i] * b[k];
        }
        c[j] += alpha * sum;
      }
    }
  }
}

}  // namespace

void sgemm_fallback(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) {
  scale_c(M, N, beta, C, ldc);
  if (M == 0 || N == 0 || K == 0 || alpha == 0.0f) return;
  if (transB) gemm_b_cols(transA, M, N, K, alpha, A, lda, B, ldb, C, ldc);
  else gemm_b_rows(transA, M, N, K, alpha, A, lda, B, ldb, C, ldc);
}

#if FCNET_USE_CBLAS

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K, alpha,
              A, lda, B, ldb, beta, C, ldc);
}
const char* gemm_backend_name() { return "openblas"; }
const char* gemm_backend_config() { return openblas_get_config(); }
int gemm_threads() { return openblas_get_num_threads(); }
void set_gemm_threads(int n) { openblas_set_num_threads(n); }

#else

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
  sgemm_fallback(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
const char* gemm_backend_name() { return "fallback"; }
const char* gemm_backend_config() { return "fcnet blocked GEMM (no BLAS found at build time)"; }
int gemm_threads() { return 1; }
void set_gemm_threads(int) {}

#endif

}  // namespace fcnet

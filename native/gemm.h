// Single-precision GEMM on row-major matrices: CBLAS when the build found one, else a blocked fallback.
#pragma once

namespace fcnet {

// C(M,N) = alpha · op(A) · op(B) + beta · C, row-major; op(A) is (M,K), op(B) is (K,N).
// A is (M,K) with leading dimension lda, or (K,M) when transA; B is (K,N), or (N,K) when transB.
void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);

// The fallback alone, so tests can hold it against the BLAS one.
void sgemm_fallback(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc);

// "openblas" or "fallback".
const char* gemm_backend_name();
// The BLAS library's own description (OpenBLAS's config string), or the fallback's.
const char* gemm_backend_config();
// Threads the BLAS uses (1 for the fallback); set_gemm_threads is a no-op for the fallback.
int gemm_threads();
void set_gemm_threads(int n);

}  // namespace fcnet

// Dense GEMM for activation x activation products (attention scores, context):
// c[i, j] = sum_k a[i, k] * b[k, j], all row-major. A 4-row x 4-vector register tile: each k
// broadcasts 4 values of a and loads 4 vectors of b into 16 accumulators, so FMAs (16) outnumber
// loads (8) two to one; c stays in registers over all of K. Narrower column tails run the same
// tile with fewer (masked) vectors. Include after one simd/vec-*.h.
#pragma once
#include <cstdint>

namespace {
template <class V, int MR, int NV>
inline void gemm_tile(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                      int n_valid) {
  using T = typename V::T;
  constexpr int W = V::W;
  T acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  const bool full = n_valid == NV * W;
  const int last = n_valid - (NV - 1) * W;  // lanes of the last vector
  for (int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * ldb;
    T bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = (full || v + 1 < NV) ? V::load(bp + v * W) : V::load_n(bp + v * W, last);
    for (int r = 0; r < MR; ++r) {
      const T av = V::bcast(a + r * lda + p);
      for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(av, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) {
      if (full || v + 1 < NV) V::store(c + r * ldc + v * W, acc[r][v]);
      else V::store_n(c + r * ldc + v * W, acc[r][v], last);
    }
}

template <class V, int NV>
inline void gemm_cols(int64_t m, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                      int64_t ldc, int nv) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) gemm_tile<V, 4, NV>(k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, nv);
  for (; i < m; ++i) gemm_tile<V, 1, NV>(k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, nv);
}

template <class V>
void gemm_rows(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
               int64_t ldc) {
  constexpr int W = V::W;
  int64_t j = 0;
  for (; j + 4 * W <= n; j += 4 * W) gemm_cols<V, 4>(m, k, a, lda, b + j, ldb, c + j, ldc, 4 * W);
  const int rest = static_cast<int>(n - j);  // < 4 vectors: one tile as wide as needed
  if (rest > 3 * W) gemm_cols<V, 4>(m, k, a, lda, b + j, ldb, c + j, ldc, rest);
  else if (rest > 2 * W) gemm_cols<V, 3>(m, k, a, lda, b + j, ldb, c + j, ldc, rest);
  else if (rest > W) gemm_cols<V, 2>(m, k, a, lda, b + j, ldb, c + j, ldc, rest);
  else if (rest > 0) gemm_cols<V, 1>(m, k, a, lda, b + j, ldb, c + j, ldc, rest);
}
}  // namespace

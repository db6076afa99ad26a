// Dense GEMM for activation x activation products (attention scores, context):
// c[i, j] = sum_k a[i, k] * b[k, j], all row-major. A 4-row x 2-vector register tile: each
// k broadcasts 4 values of a and loads 2 vectors of b; c stays in 8 accumulators over all of K.
// Include after one simd/vec-*.h.
#pragma once
#include <cstdint>

namespace {
template <class V, int MR>
inline void gemm_tile(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                      int n_valid) {
  using T = typename V::T;
  constexpr int W = V::W;
  T acc0[MR], acc1[MR];
  for (int r = 0; r < MR; ++r) acc0[r] = acc1[r] = V::zero();
  const int n0 = n_valid < W ? n_valid : W, n1 = n_valid - n0;
  if (n_valid == 2 * W) {
    for (int64_t p = 0; p < k; ++p) {
      const T b0 = V::load(b + p * ldb), b1 = V::load(b + p * ldb + W);
      for (int r = 0; r < MR; ++r) {
        const T av = V::bcast(a + r * lda + p);
        acc0[r] = V::fma(av, b0, acc0[r]);
        acc1[r] = V::fma(av, b1, acc1[r]);
      }
    }
    for (int r = 0; r < MR; ++r) {
      V::store(c + r * ldc, acc0[r]);
      V::store(c + r * ldc + W, acc1[r]);
    }
    return;
  }
  for (int64_t p = 0; p < k; ++p) {
    const T b0 = V::load_n(b + p * ldb, n0);
    const T b1 = n1 > 0 ? V::load_n(b + p * ldb + W, n1) : V::zero();
    for (int r = 0; r < MR; ++r) {
      const T av = V::bcast(a + r * lda + p);
      acc0[r] = V::fma(av, b0, acc0[r]);
      acc1[r] = V::fma(av, b1, acc1[r]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    V::store_n(c + r * ldc, acc0[r], n0);
    if (n1 > 0) V::store_n(c + r * ldc + W, acc1[r], n1);
  }
}

template <class V>
void gemm_rows(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
               int64_t ldc) {
  constexpr int NR = 2 * V::W;
  for (int64_t j = 0; j < n; j += NR) {
    const int nv = static_cast<int>(n - j < NR ? n - j : NR);
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) gemm_tile<V, 4>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, nv);
    for (; i < m; ++i) gemm_tile<V, 1>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, nv);
  }
}
}  // namespace

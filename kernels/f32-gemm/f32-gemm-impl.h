// Dense GEMM for activation x activation products (attention scores, context):
// c[i, j] = sum_k a[i, k] * b[k, j], all row-major. An MR-row x NV-vector register tile: each k
// broadcasts MR values of a and loads NV vectors of b into MR * NV accumulators (4 x 4: 16 FMAs
// per 8 loads); c stays in registers over all of K. Narrower column tails run the same tile with
// fewer (masked) vectors. Include after one simd/vec-*.h.
#pragma once
#include <cstdint>

namespace {
// FULL: all NV vectors are whole; otherwise the last holds n_valid - (NV - 1) * W lanes. A template
// flag, not a runtime test: with the test inside the K loop GCC kept the accumulators in memory.
template <class V, int MR, int NV, bool FULL>
__attribute__((always_inline)) inline void gemm_tile_n(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                        int n_valid) {
  using T = typename V::T;
  constexpr int W = V::W;
  T acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  const int last = n_valid - (NV - 1) * W;  // lanes of the last vector
  for (int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * ldb;
    T bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = (FULL || v + 1 < NV) ? V::load(bp + v * W) : V::load_n(bp + v * W, last);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const T av = V::bcast(a + r * lda + p);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(av, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      if (FULL || v + 1 < NV) V::store(c + r * ldc + v * W, acc[r][v]);
      else V::store_n(c + r * ldc + v * W, acc[r][v], last);
    }
}

template <class V, int MR, int NV>
inline void gemm_tile(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                      int n_valid) {
  if (n_valid == NV * V::W) gemm_tile_n<V, MR, NV, true>(k, a, lda, b, ldb, c, ldc, n_valid);
  else gemm_tile_n<V, MR, NV, false>(k, a, lda, b, ldb, c, ldc, n_valid);
}

// Rows in tiles of MR; the last m % MR rows in one shorter tile.
template <class V, int MR, int NV>
inline void gemm_cols(int64_t m, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                      int64_t ldc, int nv) {
  int64_t i = 0;
  for (; i + MR <= m; i += MR) gemm_tile<V, MR, NV>(k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, nv);
  a += i * lda;
  c += i * ldc;
  switch (m - i) {
    case 5: if constexpr (MR > 5) gemm_tile<V, 5, NV>(k, a, lda, b, ldb, c, ldc, nv); break;
    case 4: if constexpr (MR > 4) gemm_tile<V, 4, NV>(k, a, lda, b, ldb, c, ldc, nv); break;
    case 3: if constexpr (MR > 3) gemm_tile<V, 3, NV>(k, a, lda, b, ldb, c, ldc, nv); break;
    case 2: if constexpr (MR > 2) gemm_tile<V, 2, NV>(k, a, lda, b, ldb, c, ldc, nv); break;
    case 1: gemm_tile<V, 1, NV>(k, a, lda, b, ldb, c, ldc, nv); break;
    default: break;
  }
}

// MR rows x NV vectors per register tile: MR * NV accumulators + NV loads of b + one broadcast
// must fit the register file (4 x 4 on 32-register ISAs, 6 x 2 on AVX2's 16 ymm: 4 x 4 spilled
// and ran at a quarter of 6 x 2's speed on Zen 3).
template <class V, int MR, int NV>
void gemm_rows(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
               int64_t ldc) {
  static_assert(MR >= 1 && MR <= 6 && NV >= 1 && NV <= 4, "gemm tile: 1-6 rows, 1-4 vectors");
  constexpr int W = V::W;
  int64_t j = 0;
  for (; j + NV * W <= n; j += NV * W) gemm_cols<V, MR, NV>(m, k, a, lda, b + j, ldb, c + j, ldc, NV * W);
  const int rest = static_cast<int>(n - j);  // < NV vectors: one tile as wide as needed
  if (rest == 0) return;
  const int vecs = (rest + W - 1) / W;
  if (vecs >= 4) gemm_cols<V, MR, 4 <= NV ? 4 : NV>(m, k, a, lda, b + j, ldb, c + j, ldc, rest);
  else if (vecs == 3) gemm_cols<V, MR, 3 <= NV ? 3 : NV>(m, k, a, lda, b + j, ldb, c + j, ldc, rest);
  else if (vecs == 2) gemm_cols<V, MR, 2 <= NV ? 2 : NV>(m, k, a, lda, b + j, ldb, c + j, ldc, rest);
  else gemm_cols<V, MR, 1>(m, k, a, lda, b + j, ldb, c + j, ldc, rest);
}
}  // namespace

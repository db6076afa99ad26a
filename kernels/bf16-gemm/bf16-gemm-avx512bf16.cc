// bf16 GEMM for attention's two products (spiralkit_kernels/bf16.h layouts): an MR-row x NV-vector
// register tile; per K pair, NV loads of B (16 columns x 2 K values each) and one 32-bit broadcast
// of A's pair per row feed MR * NV vdpbf16ps (32 multiply-adds each, twice an fp32 FMA's).
#include <immintrin.h>

#include <cstring>

#include "spiralkit_kernels/bf16.h"

namespace {

template <int MR, int NV, bool FULL>
inline void bf16_tile(int64_t kp, const uint16_t* a, int64_t lda, const uint16_t* b, int64_t ldb, float* c,
                      int64_t ldc, const float* row_scale, int last) {
  __m512 acc[MR][NV];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kp; ++p) {
    const uint16_t* bp = b + p * ldb * 2;
    __m512bh bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = (__m512bh)_mm512_loadu_si512(bp + v * 32);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * lda + 2 * p, 4);
      const __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
    }
  }
  const __mmask16 tail = static_cast<__mmask16>((1u << last) - 1u);
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
    if (row_scale) {
      const __m512 sr = _mm512_set1_ps(row_scale[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_mul_ps(acc[r][v], sr);
    }
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      if (FULL || v + 1 < NV) _mm512_storeu_ps(c + r * ldc + v * 16, acc[r][v]);
      else _mm512_mask_storeu_ps(c + r * ldc + v * 16, tail, acc[r][v]);
    }
  }
}

template <int NV>
inline void bf16_cols(int64_t m, int64_t kp, const uint16_t* a, int64_t lda, const uint16_t* b, int64_t ldb,
                      float* c, int64_t ldc, const float* row_scale, int n_valid) {
  const int last = n_valid - (NV - 1) * 16;
  const bool full = last == 16;
  auto rs = [row_scale](int64_t i) { return row_scale ? row_scale + i : nullptr; };
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) {
    if (full) bf16_tile<4, NV, true>(kp, a + i * lda, lda, b, ldb, c + i * ldc, ldc, rs(i), last);
    else bf16_tile<4, NV, false>(kp, a + i * lda, lda, b, ldb, c + i * ldc, ldc, rs(i), last);
  }
  a += i * lda;
  c += i * ldc;
  switch (m - i) {
    case 3: full ? bf16_tile<3, NV, true>(kp, a, lda, b, ldb, c, ldc, rs(i), last)
                 : bf16_tile<3, NV, false>(kp, a, lda, b, ldb, c, ldc, rs(i), last); break;
    case 2: full ? bf16_tile<2, NV, true>(kp, a, lda, b, ldb, c, ldc, rs(i), last)
                 : bf16_tile<2, NV, false>(kp, a, lda, b, ldb, c, ldc, rs(i), last); break;
    case 1: full ? bf16_tile<1, NV, true>(kp, a, lda, b, ldb, c, ldc, rs(i), last)
                 : bf16_tile<1, NV, false>(kp, a, lda, b, ldb, c, ldc, rs(i), last); break;
    default: break;
  }
}

}  // namespace

void spiralkit::spiralkit_bf16_gemm_ukernel_4x4v__avx512bf16(int64_t m, int64_t n, int64_t kp, const uint16_t* a,
                                                             int64_t lda, const uint16_t* b, int64_t ldb, float* c,
                                                             int64_t ldc, const float* row_scale) {
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) bf16_cols<4>(m, kp, a, lda, b + j * 2, ldb, c + j, ldc, row_scale, 64);
  const int rest = static_cast<int>(n - j);
  if (rest == 0) return;
  const int vecs = (rest + 15) / 16;
  if (vecs == 4) bf16_cols<4>(m, kp, a, lda, b + j * 2, ldb, c + j, ldc, row_scale, rest);
  else if (vecs == 3) bf16_cols<3>(m, kp, a, lda, b + j * 2, ldb, c + j, ldc, row_scale, rest);
  else if (vecs == 2) bf16_cols<2>(m, kp, a, lda, b + j * 2, ldb, c + j, ldc, row_scale, rest);
  else bf16_cols<1>(m, kp, a, lda, b + j * 2, ldb, c + j, ldc, row_scale, rest);
}

// Dense int8 GEMV over 4-row panels holding every K group: 2 groups x 4 rows per ymm, each
// group's activation dword broadcast to its 4 lanes; the dot product emulated exactly
// (QVecAvx2::dot, AVX2 without VNNI).
#include <immintrin.h>

#include "qs8-common/qvec-avx2.h"
#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_gemv_ukernel_4x4__avx2(const QPanelView& w, int64_t p_begin, int64_t p_end,
                                                     const QGemvArgs& a) {
  const __m256i spread = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
  const int64_t groups = w.groups;
  for (int64_t p = p_begin; p < p_end; ++p) {
    const int8_t* wp = w.vals + int64_t(w.ptr[p]) * 16;
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    int64_t g = 0;
    for (; g + 4 <= groups; g += 4) {
      const __m256i xq = _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a.x + g * 4)));
      const __m256i x0 = _mm256_permutevar8x32_epi32(xq, spread);
      const __m256i x1 = _mm256_permutevar8x32_epi32(xq, _mm256_add_epi32(spread, _mm256_set1_epi32(2)));
      acc0 = QVecAvx2::dot(acc0, x0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + g * 16)));
      acc1 = QVecAvx2::dot(acc1, x1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + g * 16 + 32)));
    }
    const __m256i s = _mm256_add_epi32(acc0, acc1);
    alignas(16) int32_t rows4[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(rows4),
                    _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1)));
    for (; g < groups; ++g)  // the last groups (fewer than 4) one by one
      for (int r = 0; r < 4; ++r)
        for (int j = 0; j < 4; ++j) rows4[r] += int32_t(wp[g * 16 + r * 4 + j]) * int32_t(a.x[g * 4 + j]);
    const int64_t n0 = p * 4;
    for (int r = 0; r < 4 && n0 + r < w.rows; ++r) {
      const int64_t n = n0 + r;
      const int32_t acc = static_cast<int32_t>(static_cast<uint32_t>(rows4[r]) -
                                               static_cast<uint32_t>(a.x_zero_point) * static_cast<uint32_t>(w.row_sum[n]));
      const int64_t yo = n - a.y_row0;
      qs8_store(a.out, n, acc, a.out.y_f32 ? a.out.y_f32 + yo : nullptr, a.out.y_u8 ? a.out.y_u8 + yo : nullptr);
    }
  }
}

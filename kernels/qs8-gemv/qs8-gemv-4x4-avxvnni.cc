// Dense int8 GEMV over 4-row panels holding every K group: 2 groups x 4 rows per ymm, each
// group's activation dword broadcast to its 4 lanes.
#include <immintrin.h>

#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_gemv_ukernel_4x4__avxvnni(const QPanelView& w, int64_t p_begin, int64_t p_end,
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
      acc0 = _mm256_dpbusd_avx_epi32(acc0, x0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + g * 16)));
      acc1 = _mm256_dpbusd_avx_epi32(acc1, x1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + g * 16 + 32)));
    }
    __m128i s4 = _mm_setzero_si128();
    for (; g < groups; ++g) {
      int32_t xd;
      __builtin_memcpy(&xd, a.x + g * 4, 4);
      s4 = _mm_dpbusd_avx_epi32(s4, _mm_set1_epi32(xd), _mm_loadu_si128(reinterpret_cast<const __m128i*>(wp + g * 16)));
    }
    const __m256i s = _mm256_add_epi32(acc0, acc1);
    s4 = _mm_add_epi32(s4, _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1)));
    alignas(16) int32_t rows4[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(rows4), s4);
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

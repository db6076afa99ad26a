// Dense int8 GEMV over 4-row panels holding every K group: 4 groups x 4 rows per zmm (the 64
// contiguous weight bytes of 4 groups), each group's activation dword broadcast to its 4 lanes.
#include <immintrin.h>

#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_gemv_ukernel_4x4__avx512vnni(const QPanelView& w, int64_t p_begin, int64_t p_end,
                                                           const QGemvArgs& a) {
  const __m512i spread = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  const int64_t groups = w.groups;
  for (int64_t p = p_begin; p < p_end; ++p) {
    const int8_t* wp = w.vals + int64_t(w.ptr[p]) * 16;
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    int64_t g = 0;
    for (; g + 8 <= groups; g += 8) {
      const __m512i x0 = _mm512_permutexvar_epi32(spread, _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a.x + g * 4))));
      const __m512i x1 = _mm512_permutexvar_epi32(spread, _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a.x + g * 4 + 16))));
      acc0 = _mm512_dpbusd_epi32(acc0, x0, _mm512_loadu_si512(wp + g * 16));
      acc1 = _mm512_dpbusd_epi32(acc1, x1, _mm512_loadu_si512(wp + g * 16 + 64));
    }
    for (; g < groups; g += 4) {
      const int left = static_cast<int>(groups - g < 4 ? groups - g : 4);
      const __mmask16 mask = static_cast<__mmask16>((1u << (4 * left)) - 1u);
      const __m512i xv = _mm512_permutexvar_epi32(spread, _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a.x + g * 4))));
      acc0 = _mm512_dpbusd_epi32(acc0, xv, _mm512_maskz_loadu_epi32(mask, wp + g * 16));
    }
    const __m512i s = _mm512_add_epi32(acc0, acc1);
    const __m256i s8 = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
    const __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
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

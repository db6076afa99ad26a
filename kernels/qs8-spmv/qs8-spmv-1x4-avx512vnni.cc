// GEMV over 1x4 blocks: 16 blocks of a row per step, their 4-byte activation groups gathered
// (vpgatherdd) and multiplied by the 16 contiguous weight blocks with one vpdpbusd.
#include <immintrin.h>

#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_spmv_ukernel_1x4__avx512vnni(const QPanelView& w, int64_t p_begin, int64_t p_end,
                                                           const QGemvArgs& a) {
  const int* x = reinterpret_cast<const int*>(a.x);  // dword g = K group g
  for (int64_t n = p_begin; n < p_end; ++n) {
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    int32_t b = w.ptr[n];
    const int32_t e = w.ptr[n + 1];
    for (; b + 32 <= e; b += 32) {
      const __m512i i0 = _mm512_loadu_si512(w.kidx + b), i1 = _mm512_loadu_si512(w.kidx + b + 16);
      const __m512i x0 = _mm512_i32gather_epi32(i0, x, 4), x1 = _mm512_i32gather_epi32(i1, x, 4);
      acc0 = _mm512_dpbusd_epi32(acc0, x0, _mm512_loadu_si512(w.vals + int64_t(b) * 4));
      acc1 = _mm512_dpbusd_epi32(acc1, x1, _mm512_loadu_si512(w.vals + int64_t(b) * 4 + 64));
    }
    for (; b < e; b += 16) {
      const __mmask16 mask = static_cast<__mmask16>(e - b >= 16 ? 0xffffu : (1u << (e - b)) - 1u);
      const __m512i idx = _mm512_maskz_loadu_epi32(mask, w.kidx + b);
      const __m512i xg = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mask, idx, x, 4);
      acc0 = _mm512_dpbusd_epi32(acc0, xg, _mm512_maskz_loadu_epi32(mask, w.vals + int64_t(b) * 4));
    }
    const int32_t raw = _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1));
    const int32_t acc = static_cast<int32_t>(static_cast<uint32_t>(raw) -
                                             static_cast<uint32_t>(a.x_zero_point) * static_cast<uint32_t>(w.row_sum[n]));
    const int64_t yo = n - a.y_row0;
    qs8_store(a.out, n, acc, a.out.y_f32 ? a.out.y_f32 + yo : nullptr, a.out.y_u8 ? a.out.y_u8 + yo : nullptr);
  }
}

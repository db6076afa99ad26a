// GEMV over 1x4 blocks: 8 blocks of a row per step, activation groups gathered, one exact
// emulated vpdpbusd (QVecAvx2::dot, AVX2 without VNNI).
#include <immintrin.h>

#include "qs8-common/qvec-avx2.h"
#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_spmv_ukernel_1x4__avx2(const QPanelView& w, int64_t p_begin, int64_t p_end,
                                                     const QGemvArgs& a) {
  const int* x = reinterpret_cast<const int*>(a.x);
  for (int64_t n = p_begin; n < p_end; ++n) {
    __m256i acc = _mm256_setzero_si256();
    int32_t b = w.ptr[n];
    const int32_t e = w.ptr[n + 1];
    for (; b + 8 <= e; b += 8) {
      const __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.kidx + b));
      const __m256i xg = _mm256_i32gather_epi32(x, idx, 4);
      acc = QVecAvx2::dot(acc, xg, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.vals + int64_t(b) * 4)));
    }
    int32_t raw = QVecAvx2::hsum(acc);
    for (; b < e; ++b) {  // tail blocks one by one
      const uint8_t* xr = a.x + int64_t(w.kidx[b]) * 4;
      const int8_t* wb = w.vals + int64_t(b) * 4;
      for (int j = 0; j < 4; ++j) raw += int32_t(wb[j]) * int32_t(xr[j]);
    }
    const int32_t acc32 = static_cast<int32_t>(static_cast<uint32_t>(raw) -
                                               static_cast<uint32_t>(a.x_zero_point) * static_cast<uint32_t>(w.row_sum[n]));
    const int64_t yo = n - a.y_row0;
    qs8_store(a.out, n, acc32, a.out.y_f32 ? a.out.y_f32 + yo : nullptr, a.out.y_u8 ? a.out.y_u8 + yo : nullptr);
  }
}

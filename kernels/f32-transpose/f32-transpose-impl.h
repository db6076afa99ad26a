// out[c * ldo + r] = in[r * ldi + c]: 8x8 tiles transposed in AVX registers, scalar edges.
// Used to turn M x K activations into K x M and back around the spmm kernels. Internal linkage.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace {
inline void transpose8x8(const float* in, int64_t ldi, float* out, int64_t ldo) {
  __m256 r0 = _mm256_loadu_ps(in + 0 * ldi), r1 = _mm256_loadu_ps(in + 1 * ldi);
  __m256 r2 = _mm256_loadu_ps(in + 2 * ldi), r3 = _mm256_loadu_ps(in + 3 * ldi);
  __m256 r4 = _mm256_loadu_ps(in + 4 * ldi), r5 = _mm256_loadu_ps(in + 5 * ldi);
  __m256 r6 = _mm256_loadu_ps(in + 6 * ldi), r7 = _mm256_loadu_ps(in + 7 * ldi);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(out + 0 * ldo, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(out + 1 * ldo, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(out + 2 * ldo, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(out + 3 * ldo, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(out + 4 * ldo, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(out + 5 * ldo, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(out + 6 * ldo, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(out + 7 * ldo, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// Walks 8x8 tiles so the side with the larger stride (the one whose lines alias in L1, e.g. a
// 12 KiB row pitch) is consumed or produced line by line: panels of 8 rows of that side, swept
// along the other side, whose half-used lines wait in L2 for the next panel.
inline void transpose_avx(const float* in, int64_t ldi, int64_t rows, int64_t cols, float* out, int64_t ldo) {
  if (ldi >= ldo) {  // input pitch larger: panels of 8 input rows
    int64_t r = 0;
    for (; r + 8 <= rows; r += 8) {
      int64_t c = 0;
      for (; c + 8 <= cols; c += 8) transpose8x8(in + r * ldi + c, ldi, out + c * ldo + r, ldo);
      for (; c < cols; ++c)
        for (int64_t i = r; i < r + 8; ++i) out[c * ldo + i] = in[i * ldi + c];
    }
    for (; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) out[c * ldo + r] = in[r * ldi + c];
    return;
  }
  int64_t c = 0;  // output pitch larger: panels of 8 output rows
  for (; c + 8 <= cols; c += 8) {
    int64_t r = 0;
    for (; r + 8 <= rows; r += 8) transpose8x8(in + r * ldi + c, ldi, out + c * ldo + r, ldo);
    for (; r < rows; ++r)
      for (int64_t j = c; j < c + 8; ++j) out[j * ldo + r] = in[r * ldi + j];
  }
  for (; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r) out[c * ldo + r] = in[r * ldi + c];
}

}  // namespace

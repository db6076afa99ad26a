// 16-lane fp32 vector for kernels built with the -avx512 flags. Internal linkage (anonymous
// namespace) so the same template compiled for two ISAs never merges at link time.
#pragma once
#include <immintrin.h>
#include <cstdint>

namespace {
struct VecAvx512 {
  using T = __m512;
  static constexpr int W = 16;
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }  // n in [0, 16]
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float v) { return _mm512_set1_ps(v); }
  static T bcast(const float* p) { return _mm512_set1_ps(*p); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  // W bytes as floats (uint8 activations entering an fp32-exact int8 kernel).
  static T load_u8(const uint8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  // The first n (< W) bytes as floats, the other lanes zero; nothing past p[n - 1] is read.
  static constexpr bool kMaskedU8 = true;
  static T load_u8_n(const uint8_t* p, int n) {
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask(n), p)));
  }
  static T load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static void store_n(float* p, T v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  // p[0], p[2], ..., p[30]: stride-2 lanes from two loads.
  static T load_s2(const float* p) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
  }
  // Masked loads: lanes [lo, hi) of a range mask load p[lane], the others are zero, and memory
  // outside p[lo, hi) is not touched.
  static constexpr bool kMaskedLoad = true;
  using M = __mmask16;
  static M range(int lo, int hi) { return static_cast<M>(mask(hi) & ~mask(lo)); }
  static M bits(uint32_t b) { return static_cast<M>(b); }  // lane i on when bit i of b is
  static T load_m(const float* p, M m) { return _mm512_maskz_loadu_ps(m, p); }
  // The even (odd) lanes of the 32-lane sequence a, b.
  static T evens(T a, T b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
  }
  static T odds(T a, T b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
  }
  // Lane 0 = prev[15], lane j = cur[j - 1]: cur shifted one lane up, prev's last lane shifted in.
  static T shift_in(T prev, T cur) {
    return _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(cur), _mm512_castps_si512(prev), 15));
  }
  // Lane j = cur[j + 1], lane 15 = next[0]: cur shifted one lane down, next's first lane shifted in.
  static T shift_out(T cur, T next) {
    return _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(next), _mm512_castps_si512(cur), 1));
  }
  static float sum(T a) { return _mm512_reduce_add_ps(a); }
};
}  // namespace

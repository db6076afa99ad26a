// 8-lane fp32 vector for kernels built with the -avx2 (+FMA) flags; internal linkage.
#pragma once
#include <immintrin.h>
#include <cstdint>

namespace {
struct VecAvx2 {
  using T = __m256;
  static constexpr int W = 8;
  static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float v) { return _mm256_set1_ps(v); }
  static T bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  // W bytes as floats (uint8 activations entering an fp32-exact int8 kernel).
  static constexpr bool kMaskedU8 = false;  // no masked byte loads: tails go scalar
  static T load_u8(const uint8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static T load_n(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static void store_n(float* p, T v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static T min(T a, T b) { return _mm256_min_ps(a, b); }
  // p[0], p[2], ..., p[14]: stride-2 lanes from two loads.
  static T load_s2(const float* p) {
    const __m256 v = _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8), 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8));
  }
  // Masked loads: lanes [lo, hi) of a range mask load p[lane], the others are zero, and memory
  // outside p[lo, hi) is not touched (vmaskmovps suppresses faults on masked lanes).
  static constexpr bool kMaskedLoad = true;
  using M = __m256i;
  static M range(int lo, int hi) {
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(lo), iota),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), iota));
  }
  // Lane i is on when bit i of b is.
  static M bits(uint32_t b) {
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(b)), bit), bit);
  }
  static T load_m(const float* p, M m) { return _mm256_maskload_ps(p, m); }
  // The even (odd) lanes of the 16-lane sequence a, b.
  static T evens(T a, T b) {
    const __m256 v = _mm256_shuffle_ps(a, b, 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8));
  }
  static T odds(T a, T b) {
    const __m256 v = _mm256_shuffle_ps(a, b, 0xDD);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8));
  }
  // Lane 0 = prev[7], lane j = cur[j - 1]: cur shifted one lane up, prev's last lane shifted in.
  static T shift_in(T prev, T cur) {
    const __m256 mid = _mm256_permute2f128_ps(prev, cur, 0x21);  // prev's high half, cur's low half
    return _mm256_castsi256_ps(_mm256_alignr_epi8(_mm256_castps_si256(cur), _mm256_castps_si256(mid), 12));
  }
  // Lane j = cur[j + 1], lane 7 = next[0].
  static T shift_out(T cur, T next) {
    const __m256 mid = _mm256_permute2f128_ps(cur, next, 0x21);  // cur's high half, next's low half
    return _mm256_castsi256_ps(_mm256_alignr_epi8(_mm256_castps_si256(mid), _mm256_castps_si256(cur), 4));
  }
  static float sum(T a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};
}  // namespace

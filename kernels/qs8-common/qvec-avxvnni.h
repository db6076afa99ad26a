// 8 int32 lanes (8 activation columns x 4 K values per ymm) for kernels built with the -avxvnni
// flags (AVX2 machines with the VEX-encoded vpdpbusd). Internal linkage, like simd/vec-*.h.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "spiralkit_kernels/qs8.h"

namespace {
struct QVecAvxVnni {
  using I = __m256i;
  using F = __m256;
  using X = __m256i;  // an activation/weight byte operand
  static constexpr int W = 8;
  static constexpr int32_t kXorBias = 0;
  static I zero() { return _mm256_setzero_si256(); }
  static I add(I a, I b) { return _mm256_add_epi32(a, b); }
  static I load_x(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static I bcast_w(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
  }
  // acc += x (uint8) . w (int8). Inline asm for the reason qvec-avx512vnni.h gives (with the
  // intrinsic, GCC 12 moved accumulators through scratch registers and spilled one per block here).
  static I dot(I acc, I x, I w) {
    asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(x), "x"(w));
    return acc;
  }
  static int32_t hsum(I a) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
  }

  static void store(const spiralkit::QOutput& o, int64_t n, I acc, int32_t corr, float* yf, uint8_t* yq,
                    int count, const spiralkit::QRequantRow& q) {
    const F f = _mm256_cvtepi32_ps(_mm256_add_epi32(acc, _mm256_set1_epi32(corr)));
    if (yq) {
      F t = _mm256_fmadd_ps(f, _mm256_set1_ps(q.mul), _mm256_set1_ps(q.add));
      if (o.residual) {
        const float* res = o.residual + o.offset(yf, yq);
        alignas(32) float tmp[W] = {};
        std::memcpy(tmp, res, sizeof(float) * count);
        t = _mm256_fmadd_ps(_mm256_load_ps(tmp), _mm256_set1_ps(q.rmul), t);
      } else if (o.residual_u8) {
        alignas(16) uint8_t tmp[16] = {};
        std::memcpy(tmp, o.residual_u8 + o.offset(yf, yq), count);
        const I r = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(tmp)));
        t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(r, _mm256_set1_epi32(o.residual_zero_point))),
                            _mm256_set1_ps(q.rmul), t);
      }
      t = _mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(q.lo)), _mm256_set1_ps(q.hi));
      const I qi = _mm256_cvtps_epi32(t);
      // In [0, 255] already: the unsigned packs only narrow. Bytes 0-3 from lane 0, 4-7 from lane 1.
      const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
      const __m128i b8 = _mm_packus_epi16(w16, w16);
      if (count == W) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(yq), b8);
      } else {
        alignas(16) uint8_t tmp[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b8);
        std::memcpy(yq, tmp, count);
      }
      return;
    }
    F v = _mm256_fmadd_ps(f, _mm256_set1_ps(o.scale[n]), _mm256_set1_ps(o.bias ? o.bias[n] : 0.0f));
    if (o.residual) {
      const float* res = o.residual + o.offset(yf, yq);
      if (count == W) {
        v = _mm256_add_ps(v, _mm256_loadu_ps(res));
      } else {
        alignas(32) float tmp[W] = {};
        std::memcpy(tmp, res, sizeof(float) * count);
        v = _mm256_add_ps(v, _mm256_load_ps(tmp));
      }
    } else if (o.residual_u8) {
      alignas(16) uint8_t tmp[16] = {};
      std::memcpy(tmp, o.residual_u8 + o.offset(yf, yq), count);
      const I r = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(tmp)));
      const F rf = _mm256_cvtepi32_ps(_mm256_sub_epi32(r, _mm256_set1_epi32(o.residual_zero_point)));
      v = _mm256_fmadd_ps(rf, _mm256_set1_ps(o.residual_scale), v);
    }
    if (o.act != spiralkit::Activation::kNone) v = _mm256_max_ps(v, _mm256_setzero_ps());
    if (o.act == spiralkit::Activation::kRelu6) v = _mm256_min_ps(v, _mm256_set1_ps(6.0f));
    if (count == W) {
      _mm256_storeu_ps(yf, v);
    } else {
      alignas(32) float tmp[W];
      _mm256_store_ps(tmp, v);
      std::memcpy(yf, tmp, sizeof(float) * count);
    }
  }
};
}  // namespace

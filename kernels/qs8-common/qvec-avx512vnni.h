// 16 int32 lanes (16 activation columns x 4 K values per zmm) for kernels built with the
// -avx512vnni flags: vpdpbusd multiplies the uint8 activations by the int8 weights directly.
// Internal linkage, like simd/vec-*.h.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "spiralkit_kernels/qs8.h"

namespace {
struct QVecAvx512Vnni {
  using I = __m512i;
  using F = __m512;
  using X = __m512i;  // an activation/weight byte operand
  static constexpr int W = 16;
  static constexpr int32_t kXorBias = 0;  // activations used as they are
  static I zero() { return _mm512_setzero_si512(); }
  static I add(I a, I b) { return _mm512_add_epi32(a, b); }
  static I load_x(const uint8_t* p) { return _mm512_loadu_si512(p); }
  static I bcast_w(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  // acc += x (uint8) . w (int8). Inline asm: with the intrinsic, GCC 12 copies every accumulator
  // in and out of a scratch register around each vpdpbusd (two moves per dot product, measured
  // ~50 % of the machine's vpdpbusd peak); the "+v" constraint keeps the accumulator in place.
  static I dot(I acc, I x, I w) {
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
    return acc;
  }
  static int32_t hsum(I a) { return _mm512_reduce_add_epi32(a); }

  // The epilogue of qs8.h on `count` (<= W) lanes of row n; q: qs8_requant_row(o, n) where yq.
  static void store(const spiralkit::QOutput& o, int64_t n, I acc, int32_t corr, float* yf, uint8_t* yq,
                    int count, const spiralkit::QRequantRow& q) {
    const __mmask16 mask = static_cast<__mmask16>((1u << count) - 1u);
    const F f = _mm512_cvtepi32_ps(_mm512_add_epi32(acc, _mm512_set1_epi32(corr)));
    if (yq) {
      F t = _mm512_fmadd_ps(f, _mm512_set1_ps(q.mul), _mm512_set1_ps(q.add));
      if (o.residual) {
        t = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, o.residual + o.offset(yf, yq)), _mm512_set1_ps(q.rmul), t);
      } else if (o.residual_u8) {
        const I r = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, o.residual_u8 + o.offset(yf, yq)));
        t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(r, _mm512_set1_epi32(o.residual_zero_point))),
                            _mm512_set1_ps(q.rmul), t);
      }
      t = _mm512_min_ps(_mm512_max_ps(t, _mm512_set1_ps(q.lo)), _mm512_set1_ps(q.hi));
      _mm_mask_storeu_epi8(yq, mask, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(t)));
      return;
    }
    F v = _mm512_fmadd_ps(f, _mm512_set1_ps(o.scale[n]), _mm512_set1_ps(o.bias ? o.bias[n] : 0.0f));
    if (o.residual) {
      v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, o.residual + o.offset(yf, yq)));
    } else if (o.residual_u8) {
      const I r = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, o.residual_u8 + o.offset(yf, yq)));
      const F rf = _mm512_cvtepi32_ps(_mm512_sub_epi32(r, _mm512_set1_epi32(o.residual_zero_point)));
      v = _mm512_fmadd_ps(rf, _mm512_set1_ps(o.residual_scale), v);
    }
    if (o.act != spiralkit::Activation::kNone) v = _mm512_max_ps(v, _mm512_setzero_ps());
    if (o.act == spiralkit::Activation::kRelu6) v = _mm512_min_ps(v, _mm512_set1_ps(6.0f));
    _mm512_mask_storeu_ps(yf, mask, v);
  }
};
}  // namespace

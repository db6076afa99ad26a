// GEMV (one activation row) over Rx1 panels with 16-bit column indices: the bytes per block
// (R floats + 2 index bytes) and the loads per block decide. R = 4/8: blocks are packed side by
// side into full vectors (4 or 2 blocks per 512-bit FMA, 2 or 1 per 256-bit), the broadcast x
// values assembled with inserts from four indices read in one 64-bit load; four accumulators hide
// the FMA latency; the last partial vector is one masked FMA (kidx16 is padded, see kernel_pack).
// R = 1 (CSR): f32-spmv-csr-impl.h (portable scalar chains).
// x86 only (the portable rows live in f32-spmv-scalar-impl.h). Internal linkage.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "f32-spmv/f32-spmv-csr-impl.h"
#include "spiralkit_kernels/panels.h"

namespace {

inline void spmv_finish(const float* tmp, int valid, int64_t n0, float* y, const float* bias,
                        spiralkit::Activation act) {
  for (int r = 0; r < valid; ++r) y[n0 + r] = spiralkit::apply_activation(tmp[r] + (bias ? bias[n0 + r] : 0.0f), act);
}

// x[k0] x R | x[k1] x R | ... for the blocks at kidx[0..]: one full vector of broadcasts.
#if defined(__AVX512F__)
using Wide = __m512;
inline Wide wide_zero() { return _mm512_setzero_ps(); }
inline Wide wide_load(const float* p) { return _mm512_loadu_ps(p); }
inline Wide wide_fma(Wide a, Wide b, Wide c) { return _mm512_fmadd_ps(a, b, c); }
template <int R>
inline Wide wide_x(const float* x, const uint16_t* kidx) {
  if constexpr (R == 4) {
    uint64_t q;
    __builtin_memcpy(&q, kidx, 8);
    const __m256 lo = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_broadcast_ss(x + (q & 0xffff))),
                                           _mm_broadcast_ss(x + ((q >> 16) & 0xffff)), 1);
    const __m256 hi = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_broadcast_ss(x + ((q >> 32) & 0xffff))),
                                           _mm_broadcast_ss(x + (q >> 48)), 1);
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
  } else {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_broadcast_ss(x + kidx[0])),
                              _mm256_broadcast_ss(x + kidx[1]), 1);
  }
}
// acc += the first `lanes` lanes of vals * x (the rest contribute exactly 0, even for inf/nan x).
inline Wide wide_fma_tail(const float* vals, Wide xv, int lanes, Wide acc) {
  const __mmask16 m = static_cast<__mmask16>((1u << lanes) - 1u);
  return _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, vals), _mm512_maskz_mov_ps(m, xv), acc);
}
// Sum of the R-lane groups of v into tmp[0..R).
template <int R>
inline void wide_fold(Wide v, float* tmp) {
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  if constexpr (R == 4) {
    _mm_storeu_ps(tmp, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  } else {
    _mm256_storeu_ps(tmp, h);
  }
}
#else
using Wide = __m256;
inline Wide wide_zero() { return _mm256_setzero_ps(); }
inline Wide wide_load(const float* p) { return _mm256_loadu_ps(p); }
inline Wide wide_fma(Wide a, Wide b, Wide c) { return _mm256_fmadd_ps(a, b, c); }
template <int R>
inline Wide wide_x(const float* x, const uint16_t* kidx) {
  if constexpr (R == 4) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_broadcast_ss(x + kidx[0])), _mm_broadcast_ss(x + kidx[1]),
                                1);
  } else {
    return _mm256_broadcast_ss(x + kidx[0]);
  }
}
inline Wide wide_fma_tail(const float* vals, Wide xv, int lanes, Wide acc) {
  const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_fmadd_ps(_mm256_maskload_ps(vals, m), _mm256_and_ps(xv, _mm256_castsi256_ps(m)), acc);
}
template <int R>
inline void wide_fold(Wide v, float* tmp) {
  if constexpr (R == 4) {
    _mm_storeu_ps(tmp, _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
  } else {
    _mm256_storeu_ps(tmp, v);
  }
}
#endif

inline Wide wide_add4(Wide a, Wide b, Wide c, Wide d) {
#if defined(__AVX512F__)
  return _mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d));
#else
  return _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d));
#endif
}

template <int R>
void spmv_wide(const spiralkit::PanelView& w, int64_t p_begin, int64_t p_end, const float* x, float* y,
               const float* bias, spiralkit::Activation act) {
  constexpr int kLanes = sizeof(Wide) / sizeof(float);
  constexpr int kPer = kLanes / R;  // blocks per vector
  const uint16_t* kidx = w.kidx16;
  for (int64_t p = p_begin; p < p_end; ++p) {
    int32_t b = w.ptr[p];
    const int32_t e = w.ptr[p + 1];
    const float* v = w.vals + int64_t(b) * R;
    Wide a0 = wide_zero(), a1 = wide_zero(), a2 = wide_zero(), a3 = wide_zero();
    for (; b + 4 * kPer <= e; b += 4 * kPer, v += 4 * kLanes) {
      a0 = wide_fma(wide_load(v), wide_x<R>(x, kidx + b), a0);
      a1 = wide_fma(wide_load(v + kLanes), wide_x<R>(x, kidx + b + kPer), a1);
      a2 = wide_fma(wide_load(v + 2 * kLanes), wide_x<R>(x, kidx + b + 2 * kPer), a2);
      a3 = wide_fma(wide_load(v + 3 * kLanes), wide_x<R>(x, kidx + b + 3 * kPer), a3);
    }
    for (; b + kPer <= e; b += kPer, v += kLanes) a0 = wide_fma(wide_load(v), wide_x<R>(x, kidx + b), a0);
    // Last 1..kPer-1 blocks: one masked FMA (indices past e are padding or the next panel's, in range).
    if (b < e) a1 = wide_fma_tail(v, wide_x<R>(x, kidx + b), (e - b) * R, a1);
    alignas(64) float tmp[R];
    wide_fold<R>(wide_add4(a0, a1, a2, a3), tmp);
    const int64_t n0 = p * R;
    spmv_finish(tmp, static_cast<int>(std::min<int64_t>(R, w.rows - n0)), n0, y, bias, act);
  }
}

}  // namespace

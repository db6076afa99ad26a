// The f16-spmm template (AArch64 FEAT_FP16, built only into -neonfp16 files): the f32-spmm
// K x M register tile at 8 fp16 lanes per q register. Each block loads its R weights in one
// register (R = 8: q, R = 4: d) and multiplies by lane (fmla v.8h, v.8h, v.h[l]); R = 1/2 broadcast.
// Accumulation is fp16; bias, activation and the store are fp32 (two fcvtl per vector).
// Tails touch exactly the columns that exist (copies through a zeroed 8-lane buffer).
#pragma once
#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "simd/epilogue.h"
#include "simd/vec-neon.h"
#include "spiralkit_kernels/f16.h"

namespace {

inline float16x8_t f16_load_n(const uint16_t* p, int n) {
  if (n >= 8) return vreinterpretq_f16_u16(vld1q_u16(p));
  uint16_t tmp[8] = {};
  std::memcpy(tmp, p, static_cast<size_t>(n) * 2);
  return vreinterpretq_f16_u16(vld1q_u16(tmp));
}

template <int RT, int NV, bool TAIL>
inline void f16_store(float* y, const float16x8_t* acc, float bias, spiralkit::Activation act, int tail) {
  for (int v = 0; v < NV; ++v) {
    float32x4_t lo = vaddq_f32(vcvt_f32_f16(vget_low_f16(acc[v])), vdupq_n_f32(bias));
    float32x4_t hi = vaddq_f32(vcvt_high_f32_f16(acc[v]), vdupq_n_f32(bias));
    lo = vec_activation<VecNeon>(lo, act);
    hi = vec_activation<VecNeon>(hi, act);
    float* out = y + v * 8;
    if (TAIL && v == NV - 1) {
      VecNeon::store_n(out, lo, std::min(tail, 4));
      if (tail > 4) VecNeon::store_n(out + 4, hi, tail - 4);
    } else {
      vst1q_f32(out, lo);
      vst1q_f32(out + 4, hi);
    }
  }
  scalar_activation(y, (NV - 1) * 8 + (TAIL ? tail : 8), act);
}

template <int R, int NV, bool TAIL>
inline void f16_tile(const spiralkit::PanelView& w, const uint16_t* vals16, int64_t p, const spiralkit::XtArgsF16& a,
                     int64_t m0, int tail) {
  const int64_t n0 = p * R;
  const int valid = static_cast<int>(std::min<int64_t>(R, w.rows - n0));
  float16x8_t acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = vreinterpretq_f16_u16(vdupq_n_u16(0));
  const uint16_t* x = a.x + m0;
  for (int32_t b = w.ptr[p], e = w.ptr[p + 1]; b < e; ++b) {
    const uint16_t* xr = x + static_cast<int64_t>(w.kidx[b]) * a.ldx;
    float16x8_t xv[NV];
    for (int v = 0; v < NV; ++v)
      xv[v] = (TAIL && v == NV - 1) ? f16_load_n(xr + v * 8, tail) : vreinterpretq_f16_u16(vld1q_u16(xr + v * 8));
    const uint16_t* wv = vals16 + static_cast<int64_t>(b) * R;
    if constexpr (R == 8) {
      const float16x8_t w8 = vreinterpretq_f16_u16(vld1q_u16(wv));
      for (int v = 0; v < NV; ++v) {
        acc[0][v] = vfmaq_laneq_f16(acc[0][v], xv[v], w8, 0);
        acc[1][v] = vfmaq_laneq_f16(acc[1][v], xv[v], w8, 1);
        acc[2][v] = vfmaq_laneq_f16(acc[2][v], xv[v], w8, 2);
        acc[3][v] = vfmaq_laneq_f16(acc[3][v], xv[v], w8, 3);
        acc[4][v] = vfmaq_laneq_f16(acc[4][v], xv[v], w8, 4);
        acc[5][v] = vfmaq_laneq_f16(acc[5][v], xv[v], w8, 5);
        acc[6][v] = vfmaq_laneq_f16(acc[6][v], xv[v], w8, 6);
        acc[7][v] = vfmaq_laneq_f16(acc[7][v], xv[v], w8, 7);
      }
    } else if constexpr (R == 4) {
      const float16x4_t w4 = vreinterpret_f16_u16(vld1_u16(wv));
      for (int v = 0; v < NV; ++v) {
        acc[0][v] = vfmaq_lane_f16(acc[0][v], xv[v], w4, 0);
        acc[1][v] = vfmaq_lane_f16(acc[1][v], xv[v], w4, 1);
        acc[2][v] = vfmaq_lane_f16(acc[2][v], xv[v], w4, 2);
        acc[3][v] = vfmaq_lane_f16(acc[3][v], xv[v], w4, 3);
      }
    } else {
      for (int r = 0; r < R; ++r) {
        const float16x8_t wr = vreinterpretq_f16_u16(vld1q_dup_u16(wv + r));
        for (int v = 0; v < NV; ++v) acc[r][v] = vfmaq_f16(acc[r][v], xv[v], wr);
      }
    }
  }
  for (int r = 0; r < valid; ++r) {
    float* y = a.y + (n0 + r - a.y_row0) * a.ldy + m0;
    f16_store<R, NV, TAIL>(y, acc[r], a.bias ? a.bias[n0 + r] : 0.0f, a.act, tail);
  }
}

template <int R, int NV, bool TAIL>
__attribute__((noinline)) void f16_strip(const spiralkit::PanelView& w, const uint16_t* vals16, int64_t p_begin,
                                         int64_t p_end, const spiralkit::XtArgsF16& a, int64_t m0, int tail) {
  for (int64_t p = p_begin; p < p_end; ++p) f16_tile<R, NV, TAIL>(w, vals16, p, a, m0, tail);
}

template <int R, int NV>
void f16_tail(const spiralkit::PanelView& w, const uint16_t* vals16, int64_t p_begin, int64_t p_end,
              const spiralkit::XtArgsF16& a, int64_t m0, int64_t rem) {
  if constexpr (NV > 1) {
    if (rem <= (NV - 1) * 8) return f16_tail<R, NV - 1>(w, vals16, p_begin, p_end, a, m0, rem);
  }
  const int tail = static_cast<int>(rem - (NV - 1) * 8);
  if (tail == 8) f16_strip<R, NV, false>(w, vals16, p_begin, p_end, a, m0, tail);
  else f16_strip<R, NV, true>(w, vals16, p_begin, p_end, a, m0, tail);
}

// R rows x NV vectors of 8 columns per register tile.
template <int R, int NV>
void f16_spmm_xt(const spiralkit::PanelView& w, const uint16_t* vals16, int64_t p_begin, int64_t p_end,
                 const spiralkit::XtArgsF16& a) {
  constexpr int64_t kTile = int64_t(NV) * 8;
  int64_t m0 = 0;
  for (; m0 + kTile <= a.m; m0 += kTile) f16_strip<R, NV, false>(w, vals16, p_begin, p_end, a, m0, 8);
  if (m0 < a.m) f16_tail<R, NV>(w, vals16, p_begin, p_end, a, m0, a.m - m0);
}

}  // namespace

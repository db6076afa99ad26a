// GEMV (one activation row) over Rx1 panels with 16-bit column indices, NEON (R = 4 or 8): a block
// is R/4 q registers of values times one x value, an FMA by element (fmla v.4s, v.4s, v.s[0]).
// Four blocks per step share one 64-bit load of their four indices (extracted with shifts, not
// four loads: AArch64 cores have one or two load pipes, the index loads would cost as much as
// the values), into four accumulator chains that hide the FMA latency. Internal linkage.
#pragma once
#include <arm_neon.h>

#include <algorithm>
#include <cstdint>

#include "spiralkit_kernels/panels.h"

namespace {

template <int R>
inline void spmv_block(const float* v, float xv, float32x4_t* acc) {
  acc[0] = vfmaq_n_f32(acc[0], vld1q_f32(v), xv);
  if constexpr (R == 8) acc[1] = vfmaq_n_f32(acc[1], vld1q_f32(v + 4), xv);
}

template <int R>
void spmv_neon(const spiralkit::PanelView& w, int64_t p_begin, int64_t p_end, const float* x, float* y,
               const float* bias, spiralkit::Activation act) {
  static_assert(R == 4 || R == 8, "R: 4 or 8 rows per block");
  constexpr int kQ = R / 4;  // q registers per block
  const uint16_t* kidx = w.kidx16;
  for (int64_t p = p_begin; p < p_end; ++p) {
    int32_t b = w.ptr[p];
    const int32_t e = w.ptr[p + 1];
    const float* v = w.vals + int64_t(b) * R;
    float32x4_t a0[kQ], a1[kQ], a2[kQ], a3[kQ];
    for (int q = 0; q < kQ; ++q) a0[q] = a1[q] = a2[q] = a3[q] = vdupq_n_f32(0.0f);
    for (; b + 4 <= e; b += 4, v += 4 * R) {
      uint64_t k4;
      __builtin_memcpy(&k4, kidx + b, 8);
      spmv_block<R>(v, x[k4 & 0xffff], a0);
      spmv_block<R>(v + R, x[(k4 >> 16) & 0xffff], a1);
      spmv_block<R>(v + 2 * R, x[(k4 >> 32) & 0xffff], a2);
      spmv_block<R>(v + 3 * R, x[k4 >> 48], a3);
    }
    for (; b < e; ++b, v += R) spmv_block<R>(v, x[kidx[b]], a0);
    float tmp[R];
    for (int q = 0; q < kQ; ++q) vst1q_f32(tmp + 4 * q, vaddq_f32(vaddq_f32(a0[q], a1[q]), vaddq_f32(a2[q], a3[q])));
    const int64_t n0 = p * R;
    const int valid = static_cast<int>(std::min<int64_t>(R, w.rows - n0));
    for (int r = 0; r < valid; ++r) y[n0 + r] = spiralkit::apply_activation(tmp[r] + (bias ? bias[n0 + r] : 0.0f), act);
  }
}

}  // namespace

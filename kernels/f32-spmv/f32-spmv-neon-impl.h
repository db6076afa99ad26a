// GEMV (one activation row) over Rx1 panels with 16-bit column indices, NEON (R = 4 or 8): a block
// is R/4 q registers of values times one x value, an FMA by element (fmla v.4s, v.4s, v.s[0]).
// Eight blocks per step take their indices from two 64-bit loads (extracted with shifts, not eight
// loads: AArch64 cores have one or two load pipes, and the index loads would cost as much as the
// values) into four accumulator chains that hide the FMA latency. A full panel finishes in
// vectors (bias, ReLU/ReLU6, one store). Internal linkage.
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

// Four blocks whose indices are the four 16-bit fields of k4, one per accumulator chain.
template <int R>
inline void spmv_four(const float* v, const float* x, uint64_t k4, float32x4_t* a0, float32x4_t* a1,
                      float32x4_t* a2, float32x4_t* a3) {
  spmv_block<R>(v, x[k4 & 0xffff], a0);
  spmv_block<R>(v + R, x[(k4 >> 16) & 0xffff], a1);
  spmv_block<R>(v + 2 * R, x[(k4 >> 32) & 0xffff], a2);
  spmv_block<R>(v + 3 * R, x[k4 >> 48], a3);
}

template <int R>
void spmv_neon(const spiralkit::PanelView& w, int64_t p_begin, int64_t p_end, const float* x, float* y,
               const float* bias, spiralkit::Activation act) {
  static_assert(R == 4 || R == 8, "R: 4 or 8 rows per block");
  constexpr int kQ = R / 4;  // q registers per block
  using spiralkit::Activation;
  const bool vector_act = act == Activation::kNone || act == Activation::kRelu || act == Activation::kRelu6;
  const uint16_t* kidx = w.kidx16;
  for (int64_t p = p_begin; p < p_end; ++p) {
    int32_t b = w.ptr[p];
    const int32_t e = w.ptr[p + 1];
    const float* v = w.vals + int64_t(b) * R;
    float32x4_t a0[kQ], a1[kQ], a2[kQ], a3[kQ];
    for (int q = 0; q < kQ; ++q) a0[q] = a1[q] = a2[q] = a3[q] = vdupq_n_f32(0.0f);
    for (; b + 8 <= e; b += 8, v += 8 * R) {
      uint64_t k[2];
      __builtin_memcpy(k, kidx + b, 16);
      spmv_four<R>(v, x, k[0], a0, a1, a2, a3);
      spmv_four<R>(v + 4 * R, x, k[1], a0, a1, a2, a3);
    }
    if (b + 4 <= e) {
      uint64_t k4;
      __builtin_memcpy(&k4, kidx + b, 8);
      spmv_four<R>(v, x, k4, a0, a1, a2, a3);
      b += 4;
      v += 4 * R;
    }
    for (; b < e; ++b, v += R) spmv_block<R>(v, x[kidx[b]], a0);
    const int64_t n0 = p * R;
    const int valid = static_cast<int>(std::min<int64_t>(R, w.rows - n0));
    float32x4_t sum[kQ];
    for (int q = 0; q < kQ; ++q) sum[q] = vaddq_f32(vaddq_f32(a0[q], a1[q]), vaddq_f32(a2[q], a3[q]));
    if (valid == R && vector_act) {
      for (int q = 0; q < kQ; ++q) {
        float32x4_t o = bias ? vaddq_f32(sum[q], vld1q_f32(bias + n0 + 4 * q)) : sum[q];
        if (act != Activation::kNone) o = vmaxq_f32(o, vdupq_n_f32(0.0f));
        if (act == Activation::kRelu6) o = vminq_f32(o, vdupq_n_f32(6.0f));
        vst1q_f32(y + n0 + 4 * q, o);
      }
      continue;
    }
    float tmp[R];
    for (int q = 0; q < kQ; ++q) vst1q_f32(tmp + 4 * q, sum[q]);
    for (int r = 0; r < valid; ++r) y[n0 + r] = spiralkit::apply_activation(tmp[r] + (bias ? bias[n0 + r] : 0.0f), act);
  }
}

}  // namespace

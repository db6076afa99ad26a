// 4-lane fp32 vector (float32x4_t) for the AArch64 -neon kernel files; internal linkage, like
// vec-avx2.h / vec-avx512.h. NEON has no masked loads: load_n / store_n touch exactly n floats
// (lane loads / stores), so a tail never reads or writes past the end of a buffer.
// kLaneFma: fma_lane<l>(w4, x, acc) multiplies by lane l of a register (fmla v.4s, v.4s, v.s[l]),
// so templates may load four weights in one instruction instead of four broadcasts.
#pragma once
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

namespace {
struct VecNeon {
  using T = float32x4_t;
  static constexpr int W = 4;
  static constexpr bool kLaneFma = true;
  static T zero() { return vdupq_n_f32(0.0f); }
  static T set1(float v) { return vdupq_n_f32(v); }
  static T bcast(const float* p) { return vld1q_dup_f32(p); }
  static T load(const float* p) { return vld1q_f32(p); }
  // W bytes as floats (uint8 activations entering an fp32-exact int8 kernel).
  static constexpr bool kMaskedU8 = false;  // no masked byte loads: tails go scalar
  static T load_u8(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return vcvtq_f32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(v))))));
  }
  // The first n (1..4) lanes from p, the rest zero.
  static T load_n(const float* p, int n) {
    if (n >= 4) return vld1q_f32(p);
    if (n == 3) return vcombine_f32(vld1_f32(p), vld1_lane_f32(p + 2, vdup_n_f32(0.0f), 0));
    if (n == 2) return vcombine_f32(vld1_f32(p), vdup_n_f32(0.0f));
    if (n == 1) return vld1q_lane_f32(p, zero(), 0);
    return zero();
  }
  static void store(float* p, T v) { vst1q_f32(p, v); }
  static void store_n(float* p, T v, int n) {
    if (n >= 4) return vst1q_f32(p, v);
    if (n >= 2) vst1_f32(p, vget_low_f32(v));
    if (n == 3) vst1q_lane_f32(p + 2, v, 2);
    if (n == 1) vst1q_lane_f32(p, v, 0);
  }
  static T fma(T a, T b, T c) { return vfmaq_f32(c, a, b); }
  template <int L>
  static T fma_lane(T w4, T x, T acc) { return vfmaq_laneq_f32(acc, x, w4, L); }
  static T add(T a, T b) { return vaddq_f32(a, b); }
  static T mul(T a, T b) { return vmulq_f32(a, b); }
  static T max(T a, T b) { return vmaxq_f32(a, b); }
  static T min(T a, T b) { return vminq_f32(a, b); }
  // p[0], p[2], p[4], p[6]: one de-interleaving load (ld2) of 8 floats.
  static T load_s2(const float* p) { return vld2q_f32(p).val[0]; }
  static float sum(T a) { return vaddvq_f32(a); }
};
}  // namespace

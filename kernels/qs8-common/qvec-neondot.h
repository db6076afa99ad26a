// 4 int32 lanes (4 activation columns x 4 K values per q register) for kernels built with
// +dotprod. SDOT is int8 x int8: activations are flipped to int8 (x ^ 0x80 = x - 128) on load and
// the kernels add 128 * row_sum back (kXorBias). Internal linkage, like simd/vec-*.h.
#pragma once
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "spiralkit_kernels/qs8.h"

namespace {
struct QVecNeonDot {
  using I = int32x4_t;
  using F = float32x4_t;
  using X = int8x16_t;  // an activation/weight byte operand
  static constexpr int W = 4;
  static constexpr int32_t kXorBias = 128;
  static I zero() { return vdupq_n_s32(0); }
  static I add(I a, I b) { return vaddq_s32(a, b); }
  static int8x16_t load_x(const uint8_t* p) {
    return vreinterpretq_s8_u8(veorq_u8(vld1q_u8(p), vdupq_n_u8(0x80)));
  }
  static int8x16_t bcast_w(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return vreinterpretq_s8_s32(vdupq_n_s32(v));
  }
  static I dot(I acc, int8x16_t x, int8x16_t w) { return vdotq_s32(acc, x, w); }
  static int32_t hsum(I a) { return vaddvq_s32(a); }

  static void store(const spiralkit::QOutput& o, int64_t n, I acc, int32_t corr, float* yf, uint8_t* yq,
                    int count, const spiralkit::QRequantRow& q) {
    const F f = vcvtq_f32_s32(vaddq_s32(acc, vdupq_n_s32(corr)));
    if (yq) {
      F t = vfmaq_f32(vdupq_n_f32(q.add), f, vdupq_n_f32(q.mul));
      if (o.residual) {
        float tmp[W] = {};
        std::memcpy(tmp, o.residual + o.offset(yf, yq), sizeof(float) * count);
        t = vfmaq_f32(t, vld1q_f32(tmp), vdupq_n_f32(q.rmul));
      } else if (o.residual_u8) {
        uint8_t tmp[8] = {};
        std::memcpy(tmp, o.residual_u8 + o.offset(yf, yq), count);
        const int32x4_t r = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vld1_u8(tmp)))));
        t = vfmaq_f32(t, vcvtq_f32_s32(vsubq_s32(r, vdupq_n_s32(o.residual_zero_point))), vdupq_n_f32(q.rmul));
      }
      t = vminq_f32(vmaxq_f32(t, vdupq_n_f32(q.lo)), vdupq_n_f32(q.hi));
      const uint16x4_t h = vqmovun_s32(vcvtnq_s32_f32(t));
      const uint8x8_t b = vqmovn_u16(vcombine_u16(h, h));
      uint8_t tmp[8];
      vst1_u8(tmp, b);
      std::memcpy(yq, tmp, count);
      return;
    }
    F v = vfmaq_f32(vdupq_n_f32(o.bias ? o.bias[n] : 0.0f), f, vdupq_n_f32(o.scale[n]));
    if (o.residual) {
      const float* res = o.residual + o.offset(yf, yq);
      if (count == W) {
        v = vaddq_f32(v, vld1q_f32(res));
      } else {
        float tmp[W] = {};
        std::memcpy(tmp, res, sizeof(float) * count);
        v = vaddq_f32(v, vld1q_f32(tmp));
      }
    } else if (o.residual_u8) {
      uint8_t tmp[8] = {};
      std::memcpy(tmp, o.residual_u8 + o.offset(yf, yq), count);
      const int32x4_t r = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vld1_u8(tmp)))));
      const F rf = vcvtq_f32_s32(vsubq_s32(r, vdupq_n_s32(o.residual_zero_point)));
      v = vfmaq_f32(v, rf, vdupq_n_f32(o.residual_scale));
    }
    if (o.act != spiralkit::Activation::kNone) v = vmaxq_f32(v, vdupq_n_f32(0.0f));
    if (o.act == spiralkit::Activation::kRelu6) v = vminq_f32(v, vdupq_n_f32(6.0f));
    if (count == W) {
      vst1q_f32(yf, v);
    } else {
      float tmp[W];
      vst1q_f32(tmp, v);
      std::memcpy(yf, tmp, sizeof(float) * count);
    }
  }
};
}  // namespace

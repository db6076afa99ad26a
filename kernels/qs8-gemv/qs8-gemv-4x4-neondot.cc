// Dense int8 GEMV over 4-row panels holding every K group: per group, one SDOT of the 16 weight
// bytes (4 rows x 4 K) by the group's activation dword (flipped to int8) gives the 4 rows at once.
#include <arm_neon.h>

#include <cstring>

#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_gemv_ukernel_4x4__neondot(const QPanelView& w, int64_t p_begin, int64_t p_end,
                                                        const QGemvArgs& a) {
  const uint8x16_t flip = vdupq_n_u8(0x80);
  const int64_t groups = w.groups;
  for (int64_t p = p_begin; p < p_end; ++p) {
    const int8_t* wp = w.vals + int64_t(w.ptr[p]) * 16;
    int32x4_t acc0 = vdupq_n_s32(0), acc1 = vdupq_n_s32(0);
    int64_t g = 0;
    for (; g + 4 <= groups; g += 4) {  // 4 groups: 16 activation bytes, 64 weight bytes
      const int32x4_t xq = vreinterpretq_s32_u8(veorq_u8(vld1q_u8(a.x + g * 4), flip));
      acc0 = vdotq_laneq_s32(acc0, vld1q_s8(wp + g * 16), vreinterpretq_s8_s32(xq), 0);
      acc1 = vdotq_laneq_s32(acc1, vld1q_s8(wp + g * 16 + 16), vreinterpretq_s8_s32(xq), 1);
      acc0 = vdotq_laneq_s32(acc0, vld1q_s8(wp + g * 16 + 32), vreinterpretq_s8_s32(xq), 2);
      acc1 = vdotq_laneq_s32(acc1, vld1q_s8(wp + g * 16 + 48), vreinterpretq_s8_s32(xq), 3);
    }
    for (; g < groups; ++g) {
      int32_t xd;
      std::memcpy(&xd, a.x + g * 4, 4);
      const int8x16_t xs = vreinterpretq_s8_u8(veorq_u8(vreinterpretq_u8_s32(vdupq_n_s32(xd)), flip));
      acc0 = vdotq_s32(acc0, vld1q_s8(wp + g * 16), xs);
    }
    int32_t rows4[4];
    vst1q_s32(rows4, vaddq_s32(acc0, acc1));
    const int64_t n0 = p * 4;
    for (int r = 0; r < 4 && n0 + r < w.rows; ++r) {
      const int64_t n = n0 + r;
      const int32_t acc = static_cast<int32_t>(static_cast<uint32_t>(rows4[r]) + static_cast<uint32_t>(128 - a.x_zero_point) *
                                                                                     static_cast<uint32_t>(w.row_sum[n]));
      const int64_t yo = n - a.y_row0;
      qs8_store(a.out, n, acc, a.out.y_f32 ? a.out.y_f32 + yo : nullptr, a.out.y_u8 ? a.out.y_u8 + yo : nullptr);
    }
  }
}

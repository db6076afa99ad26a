// GEMV over 1x4 blocks: 4 blocks of a row per step, their activation groups loaded lane by lane,
// flipped to int8 and multiplied by the 4 contiguous weight blocks with one SDOT.
#include <arm_neon.h>

#include <cstring>

#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_spmv_ukernel_1x4__neondot(const QPanelView& w, int64_t p_begin, int64_t p_end,
                                                        const QGemvArgs& a) {
  const int32_t* x = reinterpret_cast<const int32_t*>(a.x);
  const uint8x16_t flip = vdupq_n_u8(0x80);
  for (int64_t n = p_begin; n < p_end; ++n) {
    int32x4_t acc = vdupq_n_s32(0);
    int32_t b = w.ptr[n];
    const int32_t e = w.ptr[n + 1];
    for (; b + 4 <= e; b += 4) {
      int32x4_t g = vdupq_n_s32(0);
      g = vld1q_lane_s32(x + w.kidx[b], g, 0);
      g = vld1q_lane_s32(x + w.kidx[b + 1], g, 1);
      g = vld1q_lane_s32(x + w.kidx[b + 2], g, 2);
      g = vld1q_lane_s32(x + w.kidx[b + 3], g, 3);
      const int8x16_t xs = vreinterpretq_s8_u8(veorq_u8(vreinterpretq_u8_s32(g), flip));
      acc = vdotq_s32(acc, xs, vld1q_s8(w.vals + int64_t(b) * 4));
    }
    int32_t raw = vaddvq_s32(acc);  // sum of w * (x - 128)
    for (; b < e; ++b) {
      const uint8_t* xr = a.x + int64_t(w.kidx[b]) * 4;
      const int8_t* wb = w.vals + int64_t(b) * 4;
      for (int j = 0; j < 4; ++j) raw += int32_t(wb[j]) * (int32_t(xr[j]) - 128);
    }
    const int32_t acc32 = static_cast<int32_t>(static_cast<uint32_t>(raw) + static_cast<uint32_t>(128 - a.x_zero_point) *
                                                                              static_cast<uint32_t>(w.row_sum[n]));
    const int64_t yo = n - a.y_row0;
    qs8_store(a.out, n, acc32, a.out.y_f32 ? a.out.y_f32 + yo : nullptr, a.out.y_u8 ? a.out.y_u8 + yo : nullptr);
  }
}

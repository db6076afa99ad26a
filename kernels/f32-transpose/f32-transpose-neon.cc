// Matrix transpose, 4x4 NEON register tiles (trn1/trn2 + 64-bit lane swaps), scalar edges. Tiles
// are walked like the x86 rows: panels of 4 lines along the side with the larger pitch, so the
// lines that alias in L1 are consumed or produced one panel at a time.
#include <arm_neon.h>

#include "spiralkit_kernels/kernel-list.h"

namespace {
constexpr int kTile = 4;

inline void transpose4x4(const float* in, int64_t ldi, float* out, int64_t ldo) {
  const float32x4_t r0 = vld1q_f32(in), r1 = vld1q_f32(in + ldi);
  const float32x4_t r2 = vld1q_f32(in + 2 * ldi), r3 = vld1q_f32(in + 3 * ldi);
  const float32x4_t t0 = vtrn1q_f32(r0, r1), t1 = vtrn2q_f32(r0, r1);
  const float32x4_t t2 = vtrn1q_f32(r2, r3), t3 = vtrn2q_f32(r2, r3);
  const float64x2_t d0 = vreinterpretq_f64_f32(t0), d1 = vreinterpretq_f64_f32(t1);
  const float64x2_t d2 = vreinterpretq_f64_f32(t2), d3 = vreinterpretq_f64_f32(t3);
  vst1q_f32(out, vreinterpretq_f32_f64(vtrn1q_f64(d0, d2)));
  vst1q_f32(out + ldo, vreinterpretq_f32_f64(vtrn1q_f64(d1, d3)));
  vst1q_f32(out + 2 * ldo, vreinterpretq_f32_f64(vtrn2q_f64(d0, d2)));
  vst1q_f32(out + 3 * ldo, vreinterpretq_f32_f64(vtrn2q_f64(d1, d3)));
}
}  // namespace

void spiralkit::spiralkit_f32_transpose_ukernel__neon(const float* in, int64_t ldi, int64_t rows, int64_t cols,
                                                     float* out, int64_t ldo) {
  if (ldi >= ldo) {  // input pitch larger: panels of 4 input rows
    int64_t r = 0;
    for (; r + kTile <= rows; r += kTile) {
      int64_t c = 0;
      for (; c + kTile <= cols; c += kTile) transpose4x4(in + r * ldi + c, ldi, out + c * ldo + r, ldo);
      for (; c < cols; ++c)
        for (int64_t i = r; i < r + kTile; ++i) out[c * ldo + i] = in[i * ldi + c];
    }
    for (; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) out[c * ldo + r] = in[r * ldi + c];
    return;
  }
  int64_t c = 0;  // output pitch larger: panels of 4 output rows
  for (; c + kTile <= cols; c += kTile) {
    int64_t r = 0;
    for (; r + kTile <= rows; r += kTile) transpose4x4(in + r * ldi + c, ldi, out + c * ldo + r, ldo);
    for (; r < rows; ++r)
      for (int64_t j = c; j < c + kTile; ++j) out[j * ldo + r] = in[r * ldi + j];
  }
  for (; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r) out[c * ldo + r] = in[r * ldi + c];
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_transpose_ukernel__neon, kTile, kTile);

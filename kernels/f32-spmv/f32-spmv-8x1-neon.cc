// GEMV, 8x1 blocks, 16-bit column indices (NEON, FMA by element).
#include "f32-spmv/f32-spmv-neon-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmv_ukernel_8x1__neon(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                    const float* x, float* y, const float* bias, Activation act) {
  spmv_neon<8>(w, p_begin, p_end, x, y, bias, act);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_spmv_ukernel_8x1__neon, 8, 1);

// GEMV, 4x1 blocks, 16-bit column indices (avx2).
#include "f32-spmv/f32-spmv-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmv_ukernel_4x1__avx2(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                     const float* x, float* y, const float* bias, Activation act) {
  spmv_wide<4>(w, p_begin, p_end, x, y, bias, act);
}

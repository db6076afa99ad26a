// GEMV, 8x1 blocks, portable.
#include "f32-spmv/f32-spmv-scalar-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmv_ukernel_8x1__scalar(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                       const float* x, float* y, const float* bias, Activation act) {
  spmv_scalar<8>(w, p_begin, p_end, x, y, bias, act);
}

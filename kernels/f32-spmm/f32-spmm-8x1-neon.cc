// 8x1 blocks, K x M activations: 8 rows x 3 vectors register tile (VecNeon, 24 of 32 registers
// hold accumulators).
#include "simd/vec-neon.h"
#include "f32-spmm/f32-spmm-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmm_ukernel_8x1__neon(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                    const XtArgs& a) {
  spmm_xt<VecNeon, 8, 8, 3>(w, p_begin, p_end, a);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_spmm_ukernel_8x1__neon, 8, 3 * VecNeon::W);

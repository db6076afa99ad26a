// 4x1 blocks, K x M activations: 4 rows x 6 vectors register tile (VecNeon, 24 of 32 registers
// hold accumulators).
#include "simd/vec-neon.h"
#include "f32-spmm/f32-spmm-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmm_ukernel_4x1__neon(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                    const XtArgs& a) {
  spmm_xt<VecNeon, 4, 4, 6>(w, p_begin, p_end, a);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_spmm_ukernel_4x1__neon, 4, 6 * VecNeon::W);

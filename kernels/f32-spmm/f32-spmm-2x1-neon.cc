// 2x1 blocks, K x M activations: 2 rows x 8 vectors register tile (VecNeon, 16 of 32 registers
// hold accumulators).
#include "simd/vec-neon.h"
#include "f32-spmm/f32-spmm-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmm_ukernel_2x1__neon(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                    const XtArgs& a) {
  spmm_xt<VecNeon, 2, 2, 8>(w, p_begin, p_end, a);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_spmm_ukernel_2x1__neon, 2, 8 * VecNeon::W);

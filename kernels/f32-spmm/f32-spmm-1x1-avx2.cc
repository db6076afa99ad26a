// 1x1 blocks, K x M activations: 1 row x 8 vectors register tile (VecAvx2; 15-25 % over 1 x 4 on Zen 3).
#include "simd/vec-avx2.h"
#include "f32-spmm/f32-spmm-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmm_ukernel_1x1__avx2(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                    const XtArgs& a) {
  spmm_xt<VecAvx2, 1, 1, 8>(w, p_begin, p_end, a);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_spmm_ukernel_1x1__avx2, 1, 8 * VecAvx2::W);

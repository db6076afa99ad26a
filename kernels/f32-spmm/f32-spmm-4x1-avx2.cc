// 4x1 blocks, K x M activations: 4 rows x 3 vectors register tile (VecAvx2; 6-15 % over 4 x 2 on Zen 3).
#include "simd/vec-avx2.h"
#include "f32-spmm/f32-spmm-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmm_ukernel_4x1__avx2(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                    const XtArgs& a) {
  spmm_xt<VecAvx2, 4, 4, 3>(w, p_begin, p_end, a);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_spmm_ukernel_4x1__avx2, 4, 3 * VecAvx2::W);

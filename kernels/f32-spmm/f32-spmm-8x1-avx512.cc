// 8x1 blocks, K x M activations: 8 rows x 3 vectors register tile (VecAvx512).
#include "simd/vec-avx512.h"
#include "f32-spmm/f32-spmm-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmm_ukernel_8x1__avx512(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                    const XtArgs& a) {
  spmm_xt<VecAvx512, 8, 8, 3>(w, p_begin, p_end, a);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_spmm_ukernel_8x1__avx512, 8, 3 * VecAvx512::W);

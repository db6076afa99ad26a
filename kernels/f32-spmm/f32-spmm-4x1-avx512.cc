// 4x1 blocks, K x M activations: 4 rows x 6 vectors register tile (VecAvx512).
#include "simd/vec-avx512.h"
#include "f32-spmm/f32-spmm-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmm_ukernel_4x1__avx512(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                    const XtArgs& a) {
  spmm_xt<VecAvx512, 4, 4, 6>(w, p_begin, p_end, a);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_spmm_ukernel_4x1__avx512, 4, 6 * VecAvx512::W);

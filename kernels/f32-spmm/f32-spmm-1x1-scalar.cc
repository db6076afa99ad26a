// 1x1 blocks, K x M activations: 1 rows x 8 vectors register tile (VecScalar).
#include "simd/vec-scalar.h"
#include "f32-spmm/f32-spmm-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmm_ukernel_1x1__scalar(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                    const XtArgs& a) {
  spmm_xt<VecScalar, 1, 1, 8>(w, p_begin, p_end, a);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_spmm_ukernel_1x1__scalar, 1, 8 * VecScalar::W);

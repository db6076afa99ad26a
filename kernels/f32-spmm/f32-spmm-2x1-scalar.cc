// 2x1 blocks (unstructured weights packed as row pairs, zero-padded), K x M activations:
// 2 rows x 4 vectors register tile (VecScalar).
#include "simd/vec-scalar.h"
#include "f32-spmm/f32-spmm-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmm_ukernel_2x1__scalar(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                    const XtArgs& a) {
  spmm_xt<VecScalar, 2, 2, 4>(w, p_begin, p_end, a);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_spmm_ukernel_2x1__scalar, 2, 4 * VecScalar::W);

// 2x1 blocks (unstructured weights packed as row pairs, zero-padded), K x M activations:
// 2 rows x 8 vectors register tile (VecAvx512).
#include "simd/vec-avx512.h"
#include "f32-spmm/f32-spmm-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmm_ukernel_2x1__avx512(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                    const XtArgs& a) {
  spmm_xt<VecAvx512, 2, 2, 8>(w, p_begin, p_end, a);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_spmm_ukernel_2x1__avx512, 2, 8 * VecAvx512::W);

// Dense int8 GEMM over 4-row panels holding every K group: 4 row(s) x 2 vectors register tile (QVecAvx2).
#include "qs8-common/qvec-avx2.h"
#include "qs8-spmm/qs8-spmm-impl.h"
#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_gemm_ukernel_4x4__avx2(const QPanelView& w, int64_t p_begin, int64_t p_end, const QXtArgs& a) {
  qs8_spmm_xt<QVecAvx2, 4, 2, true>(w, p_begin, p_end, a);
}

// 1x4 blocks (one row, 4 consecutive K), K x M activations: 1 row(s) x 8 vectors register tile (QVecAvx2).
#include "qs8-common/qvec-avx2.h"
#include "qs8-spmm/qs8-spmm-impl.h"
#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_spmm_ukernel_1x4__avx2(const QPanelView& w, int64_t p_begin, int64_t p_end, const QXtArgs& a) {
  qs8_spmm_xt<QVecAvx2, 1, 8, false>(w, p_begin, p_end, a);
}

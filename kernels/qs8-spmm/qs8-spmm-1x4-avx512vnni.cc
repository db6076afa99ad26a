// 1x4 blocks (one row, 4 consecutive K), K x M activations: 1 row(s) x 8 vectors register tile (QVecAvx512Vnni),
// two accumulator sets (16 of the 32 zmm).
#include "qs8-common/qvec-avx512vnni.h"
#include "qs8-spmm/qs8-spmm-impl.h"
#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_spmm_ukernel_1x4__avx512vnni(const QPanelView& w, int64_t p_begin, int64_t p_end, const QXtArgs& a) {
  qs8_spmm_xt<QVecAvx512Vnni, 1, 8, false, 2>(w, p_begin, p_end, a);
}

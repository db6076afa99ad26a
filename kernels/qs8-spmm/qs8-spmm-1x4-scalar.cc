// 1x4 blocks (one row, 4 consecutive K), K x M activations (plain C++, any CPU).
#include "qs8-common/qs8-scalar-impl.h"
#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_spmm_ukernel_1x4__scalar(const QPanelView& w, int64_t p_begin, int64_t p_end, const QXtArgs& a) {
  qs8_spmm_scalar<1, false>(w, p_begin, p_end, a);
}

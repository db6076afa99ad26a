// GEMV over 1x4 blocks (plain C++, any CPU).
#include "qs8-common/qs8-scalar-impl.h"
#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_spmv_ukernel_1x4__scalar(const QPanelView& w, int64_t p_begin, int64_t p_end,
                                                       const QGemvArgs& a) {
  qs8_gemv_scalar<1, false>(w, p_begin, p_end, a);
}

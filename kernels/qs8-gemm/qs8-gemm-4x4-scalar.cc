// Dense int8 GEMM over 4-row panels holding every K group (plain C++, any CPU).
#include "qs8-common/qs8-scalar-impl.h"
#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_gemm_ukernel_4x4__scalar(const QPanelView& w, int64_t p_begin, int64_t p_end, const QXtArgs& a) {
  qs8_spmm_scalar<4, true>(w, p_begin, p_end, a);
}

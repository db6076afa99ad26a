// Dense int8 GEMV over 4-row panels holding every K group (plain C++, any CPU).
#include "qs8-common/qs8-scalar-impl.h"
#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_gemv_ukernel_4x4__scalar(const QPanelView& w, int64_t p_begin, int64_t p_end,
                                                       const QGemvArgs& a) {
  qs8_gemv_scalar<4, true>(w, p_begin, p_end, a);
}

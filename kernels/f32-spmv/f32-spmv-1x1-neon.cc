// GEMV, unstructured (CSR) rows: eight scalar FMA chains (built for AArch64; NEON has no gather).
#include "f32-spmv/f32-spmv-csr-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_spmv_ukernel_1x1__neon(const PanelView& w, int64_t p_begin, int64_t p_end,
                                                    const float* x, float* y, const float* bias, Activation act) {
  spmv_csr(w, p_begin, p_end, x, y, bias, act);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_spmv_ukernel_1x1__neon, 1, 1);

// fp16 2x1 blocks, K x M fp16 activations: 2 rows x 8 vectors of 8 fp16 lanes (FEAT_FP16).
#include "f16-spmm/f16-spmm-neonfp16-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f16_spmm_ukernel_2x1__neonfp16(const PanelView& w, const uint16_t* vals16, int64_t p_begin, int64_t p_end,
                                                    const XtArgsF16& a) {
  f16_spmm_xt<2, 8>(w, vals16, p_begin, p_end, a);
}
SPIRALKIT_CHECK_ROW(spiralkit_f16_spmm_ukernel_2x1__neonfp16, 2, 8 * 8);

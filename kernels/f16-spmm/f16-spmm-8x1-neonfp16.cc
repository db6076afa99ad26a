// fp16 8x1 blocks, K x M fp16 activations: 8 rows x 3 vectors of 8 fp16 lanes (FEAT_FP16).
#include "f16-spmm/f16-spmm-neonfp16-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f16_spmm_ukernel_8x1__neonfp16(const PanelView& w, const uint16_t* vals16, int64_t p_begin, int64_t p_end,
                                                    const XtArgsF16& a) {
  f16_spmm_xt<8, 3>(w, vals16, p_begin, p_end, a);
}
SPIRALKIT_CHECK_ROW(spiralkit_f16_spmm_ukernel_8x1__neonfp16, 8, 3 * 8);

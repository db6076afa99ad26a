// The f16-spmm oracle: the fp16 weight values and activations, widened exactly to fp32, summed in
// double; so it measures only the kernels' fp16 arithmetic error, not the fp16 rounding of inputs.
#include <algorithm>

#include "spiralkit_kernels/f16.h"

void spiralkit::spiralkit_f16_spmm_ukernel__reference(const PanelView& w, const uint16_t* vals16, int64_t p_begin,
                                                      int64_t p_end, const XtArgsF16& a) {
  for (int64_t p = p_begin; p < p_end; ++p) {
    const int64_t n0 = p * w.r, n1 = std::min<int64_t>(w.rows, n0 + w.r);
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t i = 0; i < a.m; ++i) {
        double acc = a.bias ? a.bias[n] : 0.0;
        for (int32_t b = w.ptr[p]; b < w.ptr[p + 1]; ++b)
          acc += double(f16_bits_to_f32(vals16[int64_t(b) * w.r + (n - n0)])) *
                 f16_bits_to_f32(a.x[int64_t(w.kidx[b]) * a.ldx + i]);
        a.y[(n - a.y_row0) * a.ldy + i] = apply_activation(static_cast<float>(acc), a.act);
      }
  }
}

// Scalar integer references of the qs8 families, written from the definitions in qs8.h alone (no
// packed layout): the oracles every qs8 kernel row is compared against bit for bit.
#include <cstdint>

#include "spiralkit_kernels/qs8.h"

namespace spiralkit {

void spiralkit_qs8_linear_ukernel__reference(const int8_t* w, int64_t n, int64_t k, const uint8_t* x, int64_t m,
                                             int32_t x_zero_point, const QOutput& out, int64_t ldy) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t r = 0; r < n; ++r) {
      int64_t acc = 0;  // exact; the kernels' int32 equals it whenever K <= 65536
      for (int64_t c = 0; c < k; ++c) acc += int64_t(w[r * k + c]) * (int64_t(x[i * k + c]) - x_zero_point);
      qs8_store(out, r, static_cast<int32_t>(acc), out.y_f32 ? out.y_f32 + i * ldy + r : nullptr,
                out.y_u8 ? out.y_u8 + i * ldy + r : nullptr);
    }
}

void spiralkit_qs8_dwconv_ukernel__reference(const QDwArgs& a) {
  for (int64_t oh = 0; oh < a.out_h; ++oh)
    for (int64_t ow = 0; ow < a.out_w; ++ow) {
      int64_t acc = 0;
      for (int r = 0; r < a.kh; ++r)
        for (int q = 0; q < a.kw; ++q) {
          const int64_t ih = oh * a.stride_h - a.pad_h + int64_t(r) * a.dil_h;
          const int64_t iw = ow * a.stride_w - a.pad_w + int64_t(q) * a.dil_w;
          const int32_t xv = (ih < 0 || ih >= a.in_h || iw < 0 || iw >= a.in_w) ? a.x_zero_point
                                                                                  : a.x[ih * a.in_w + iw];
          acc += int64_t(a.w[r * a.kw + q]) * (xv - a.x_zero_point);
        }
      const int64_t yo = oh * a.out_w + ow;
      qs8_store(a.out, 0, static_cast<int32_t>(acc), a.out.y_f32 ? a.out.y_f32 + yo : nullptr,
                a.out.y_u8 ? a.out.y_u8 + yo : nullptr);
    }
}

}  // namespace spiralkit

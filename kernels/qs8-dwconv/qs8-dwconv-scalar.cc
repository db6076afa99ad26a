// Depthwise int8 convolution of one channel plane (plain C++, any CPU). Interior output columns
// (every tap inside the input) skip the bounds checks; padding reads as the zero point, i.e. adds 0.
#include <algorithm>

#include "spiralkit_kernels/kernel-list-i8.h"

void spiralkit::spiralkit_qs8_dwconv_ukernel__scalar(const QDwArgs& a) {
  const int32_t zp = a.x_zero_point;
  // Output columns [ow_lo, ow_hi) read only in-bounds input columns for every tap.
  int64_t ow_lo = 0, ow_hi = 0;
  if (a.stride_w > 0) {
    ow_lo = std::min<int64_t>(a.out_w, (a.pad_w + a.stride_w - 1) / a.stride_w);
    const int64_t last = a.in_w - 1 + a.pad_w - int64_t(a.kw - 1) * a.dil_w;  // ow * stride <= last
    ow_hi = last < 0 ? ow_lo : std::max(ow_lo, std::min<int64_t>(a.out_w, last / a.stride_w + 1));
  }
  for (int64_t oh = 0; oh < a.out_h; ++oh) {
    for (int64_t ow = 0; ow < a.out_w; ++ow) {
      int32_t acc = 0;
      const bool interior = ow >= ow_lo && ow < ow_hi;
      for (int r = 0; r < a.kh; ++r) {
        const int64_t ih = oh * a.stride_h - a.pad_h + int64_t(r) * a.dil_h;
        if (ih < 0 || ih >= a.in_h) continue;
        const uint8_t* xr = a.x + ih * a.in_w;
        const int8_t* wr = a.w + r * a.kw;
        const int64_t iw0 = ow * a.stride_w - a.pad_w;
        for (int q = 0; q < a.kw; ++q) {
          const int64_t iw = iw0 + int64_t(q) * a.dil_w;
          if (!interior && (iw < 0 || iw >= a.in_w)) continue;
          acc += int32_t(wr[q]) * (int32_t(xr[iw]) - zp);
        }
      }
      const int64_t yo = oh * a.out_w + ow;
      qs8_store(a.out, 0, acc, a.out.y_f32 ? a.out.y_f32 + yo : nullptr, a.out.y_u8 ? a.out.y_u8 + yo : nullptr);
    }
  }
}

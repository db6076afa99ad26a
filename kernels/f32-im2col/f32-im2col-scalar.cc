// im2col of output pixels [p_begin, p_end) of one (image, group) into the K x M layout the spmm
// kernels read: col[k * ldc + (p - p_begin)], k = (c, r, q) as in weight.reshape(C_out, -1).
// Runs of one output row are copied with memcpy (stride 1) or a strided loop; padding is zero.
#include <algorithm>
#include <cstring>

#include "spiralkit_kernels/f32-sconv.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_im2col_ukernel__scalar(const float* x, const ConvShape& s, int64_t p_begin,
                                                     int64_t p_end, float* col, int64_t ldc) {
  const int64_t cin_g = s.in_channels / s.groups;
  int64_t k = 0;
  for (int64_t c = 0; c < cin_g; ++c) {
    const float* plane = x + c * s.in_h * s.in_w;
    for (int r = 0; r < s.kernel_h; ++r) {
      for (int q = 0; q < s.kernel_w; ++q, ++k) {
        float* out = col + k * ldc;
        int64_t p = p_begin;
        while (p < p_end) {
          const int64_t oh = p / s.out_w, ow0 = p % s.out_w;
          const int64_t ow1 = std::min<int64_t>(s.out_w, ow0 + (p_end - p));  // this output row's run
          const int64_t ih = oh * s.stride_h - s.pad_h + int64_t(r) * s.dilation_h;
          float* dst = out + (p - p_begin);
          const int64_t n = ow1 - ow0;
          if (ih < 0 || ih >= s.in_h) {
            std::memset(dst, 0, sizeof(float) * n);
          } else {
            const float* src = plane + ih * s.in_w;
            const int64_t off = int64_t(q) * s.dilation_w - s.pad_w;  // iw = ow * stride + off
            // Valid ow: 0 <= ow*stride + off < in_w.
            int64_t lo = off >= 0 ? 0 : (-off + s.stride_w - 1) / s.stride_w;
            int64_t hi = s.in_w - off <= 0 ? 0 : (s.in_w - off + s.stride_w - 1) / s.stride_w;
            lo = std::clamp(lo, ow0, ow1);
            hi = std::clamp(hi, lo, ow1);
            for (int64_t ow = ow0; ow < lo; ++ow) dst[ow - ow0] = 0.0f;
            if (s.stride_w == 1) {
              std::memcpy(dst + (lo - ow0), src + lo + off, sizeof(float) * (hi - lo));
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) dst[ow - ow0] = src[ow * s.stride_w + off];
            }
            for (int64_t ow = hi; ow < ow1; ++ow) dst[ow - ow0] = 0.0f;
          }
          p += n;
        }
      }
    }
  }
}

// Scalar reference convolution: im2col of one (image, group) into scratch, then the spmm
// reference over that group's output rows, writing straight into the NCHW output.
#include "spiralkit_kernels/f32-sconv.h"
#include "spiralkit_kernels/f32-spmm.h"

namespace spiralkit {

void spiralkit_f32_sconv_ukernel__reference(const SparseMatrixView& w, const ConvShape& s, const ConvParams& p) {
  const int64_t cin_g = s.in_channels / s.groups;
  const int64_t cout_g = s.out_channels / s.groups;
  const int64_t k_total = conv_reduction(s);
  const int64_t pixels = s.out_h * s.out_w;
  for (int64_t img = 0; img < s.batch; ++img) {
    for (int64_t g = 0; g < s.groups; ++g) {
      // scratch[pixel * K + k], k = (c, kh, kw) as in weight.reshape(C_out, -1)
      for (int64_t oh = 0; oh < s.out_h; ++oh) {
        for (int64_t ow = 0; ow < s.out_w; ++ow) {
          float* row = p.scratch + (oh * s.out_w + ow) * k_total;
          int64_t k = 0;
          for (int64_t c = 0; c < cin_g; ++c) {
            const float* plane = p.x + ((img * s.in_channels) + g * cin_g + c) * s.in_h * s.in_w;
            for (int r = 0; r < s.kernel_h; ++r) {
              const int64_t ih = oh * s.stride_h - s.pad_h + int64_t(r) * s.dilation_h;
              for (int q = 0; q < s.kernel_w; ++q, ++k) {
                const int64_t iw = ow * s.stride_w - s.pad_w + int64_t(q) * s.dilation_w;
                const bool inside = ih >= 0 && ih < s.in_h && iw >= 0 && iw < s.in_w;
                row[k] = inside ? plane[ih * s.in_w + iw] : 0.0f;
              }
            }
          }
        }
      }
      SpmmParams mm;
      mm.m = pixels;
      mm.x = p.scratch;
      mm.x_stride_m = k_total;
      mm.n_begin = g * cout_g;
      mm.n_end = (g + 1) * cout_g;
      mm.bias = p.bias;
      mm.activation = p.activation;
      mm.y = p.y + (img * s.out_channels + g * cout_g) * pixels;
      mm.y_stride_m = 1;
      mm.y_stride_n = pixels;
      spiralkit_f32_spmm_ukernel__reference(w, mm);
    }
  }
}

}  // namespace spiralkit

// f32 2-D convolution, NCHW, with a packed weight (logical C_out x (C_in/groups * kh * kw)).
#pragma once

#include <cstdint>

#include "spiralkit_kernels/activation.h"
#include "spiralkit_kernels/sparse_matrix.h"

namespace spiralkit {

struct ConvShape {
  int64_t batch = 0, in_channels = 0, in_h = 0, in_w = 0;
  int64_t out_channels = 0, out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dilation_h = 1, dilation_w = 1;
  int groups = 1;
};

struct ConvParams {
  const float* x = nullptr;     // contiguous NCHW input
  const float* bias = nullptr;  // [out_channels] or null
  Activation activation = Activation::kNone;
  float* y = nullptr;           // contiguous NCHW output
  float* scratch = nullptr;     // reference: out_h*out_w*K floats for one (image, group) im2col
};

inline int64_t conv_reduction(const ConvShape& s) {
  return (s.in_channels / s.groups) * s.kernel_h * s.kernel_w;
}

// Scalar reference: im2col per (image, group), then the spmm reference on the group's rows.
void spiralkit_f32_sconv_ukernel__reference(const SparseMatrixView& w, const ConvShape& s, const ConvParams& p);

}  // namespace spiralkit

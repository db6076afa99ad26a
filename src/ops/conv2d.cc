#include "ops/conv2d.h"

#include <algorithm>
#include <string>
#include <vector>

#include "runtime/threads.h"

namespace spiralkit {

Status conv2d_output_size(ConvShape* s) {
  if (s->stride_h < 1 || s->stride_w < 1) return Status::InvalidArgument("stride: expected values >= 1");
  if (s->pad_h < 0 || s->pad_w < 0) return Status::InvalidArgument("padding: expected values >= 0");
  if (s->dilation_h < 1 || s->dilation_w < 1) return Status::InvalidArgument("dilation: expected values >= 1");
  if (s->groups < 1) return Status::InvalidArgument("groups: expected a positive value");
  s->out_h = (s->in_h + 2 * s->pad_h - int64_t(s->dilation_h) * (s->kernel_h - 1) - 1) / s->stride_h + 1;
  s->out_w = (s->in_w + 2 * s->pad_w - int64_t(s->dilation_w) * (s->kernel_w - 1) - 1) / s->stride_w + 1;
  if (s->out_h < 1 || s->out_w < 1) {
    return Status::InvalidArgument("x: input " + std::to_string(s->in_h) + "x" + std::to_string(s->in_w) +
                                   " is smaller than the dilated kernel after padding");
  }
  return Status::Ok();
}

Status conv2d_forward(const PackedWeight& w, const ConvShape& shape, const float* x, const float* bias, Activation act,
                      float* y) {
  if (shape.groups < 1 || shape.in_channels % shape.groups || shape.out_channels % shape.groups) {
    return Status::InvalidArgument("groups: " + std::to_string(shape.groups) + " does not divide C_in=" +
                                   std::to_string(shape.in_channels) + " and C_out=" +
                                   std::to_string(shape.out_channels));
  }
  if (w.rows != shape.out_channels || w.cols != conv_reduction(shape)) {
    return Status::InvalidArgument("w: expected a " + std::to_string(shape.out_channels) + "x" +
                                   std::to_string(conv_reduction(shape)) + " matrix for this convolution, got " +
                                   std::to_string(w.rows) + "x" + std::to_string(w.cols));
  }
  if (shape.batch == 0) return Status::Ok();
  const SparseMatrixView view = w.view();
  const int64_t pixels = shape.out_h * shape.out_w;
  const int64_t in_image = shape.in_channels * shape.in_h * shape.in_w;
  const int64_t out_image = shape.out_channels * pixels;
  const int threads = static_cast<int>(std::min<int64_t>(get_num_threads(), shape.batch));
  // Images are independent: one per thread at a time, each with its own im2col scratch.
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> scratch(static_cast<size_t>(pixels * conv_reduction(shape)));
    ConvShape one = shape;
    one.batch = 1;
#pragma omp for schedule(static)
    for (int64_t img = 0; img < shape.batch; ++img) {
      ConvParams p;
      p.x = x + img * in_image;
      p.bias = bias;
      p.activation = act;
      p.y = y + img * out_image;
      p.scratch = scratch.data();
      spiralkit_f32_sconv_ukernel__reference(view, one, p);
    }
  }
  return Status::Ok();
}

}  // namespace spiralkit

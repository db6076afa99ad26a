// Quantized Conv2d op driver (NCHW; fp32 or uint8 in and out) over a PackedWeightI8 whose logical matrix is
// C_out x (C_in/groups * kh * kw). Split into plan (shape checks, scales folded) and run.
#pragma once

#include "core/status.h"
#include "ops/epilogue.h"
#include "ops/qlinear.h"
#include "spiralkit_kernels/f32-sconv.h"

namespace spiralkit {

// A quantized layer (weight, activation quantization, folded scales: a QLinearPlan) at one input
// geometry. Holds pointers only, so the engine builds one per call without allocating.
struct QConvPlan {
  const QLinearPlan* layer = nullptr;
  ConvShape shape;          // out_h/out_w filled by qconv2d_plan; batch is taken per call
  bool depthwise = false;   // groups == C_in == C_out: the qs8-dwconv kernel
};

// Checks the geometry against the weight (Unsupported: 4-row panels that straddle conv groups).
Status qconv2d_plan(const QLinearPlan& layer, const ConvShape& shape, QConvPlan* plan);

// One call's tensors, contiguous NCHW (batch images of the planned geometry). Exactly one of x /
// x_u8: fp32 (quantized on entry) or uint8 already quantized with the layer's own input
// parameters (what a producer's requantizing epilogue wrote: the same bytes quantizing its fp32
// output would give). Exactly one of y / y_u8: fp32, or uint8 requantized to y_params, in which
// case the epilogue may hold only a bias, ReLU/ReLU6 and a residual (no post-kernel activation).
// The residual is ep.residual (fp32) or residual_u8 (uint8 with residual_params, dequantized in
// the kernels' store), both NCHW like y; a uint8 residual takes a non-depthwise convolution.
struct QConvIo {
  const float* x = nullptr;
  const uint8_t* x_u8 = nullptr;
  float* y = nullptr;
  uint8_t* y_u8 = nullptr;
  QuantParams y_params;
  const uint8_t* residual_u8 = nullptr;
  QuantParams residual_params;
};
Status qconv2d_forward(const QConvPlan& plan, int64_t batch, const QConvIo& io, Epilogue ep);

inline Status qconv2d_forward(const QConvPlan& plan, int64_t batch, const float* x, Epilogue ep, float* y) {
  QConvIo io;
  io.x = x;
  io.y = y;
  return qconv2d_forward(plan, batch, io, ep);
}

}  // namespace spiralkit

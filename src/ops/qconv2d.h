// Quantized Conv2d op driver (NCHW, fp32 in and out) over a PackedWeightI8 whose logical matrix is
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

// x: contiguous NCHW (batch images of the planned geometry); y: NCHW fp32.
Status qconv2d_forward(const QConvPlan& plan, int64_t batch, const float* x, Epilogue ep, float* y);

}  // namespace spiralkit

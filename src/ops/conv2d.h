// Conv2d op driver (NCHW) over a PackedWeight whose logical matrix is C_out x (C_in/groups*kh*kw).
#pragma once

#include "core/status.h"
#include "ops/epilogue.h"
#include "sparse/packed_weight.h"
#include "spiralkit_kernels/f32-sconv.h"

namespace spiralkit {

// Checks `shape` against the weight, then runs. x, y contiguous NCHW; bias C_out floats or null.
Status conv2d_forward(const PackedWeight& w, const ConvShape& shape, const float* x, const float* bias, Activation act,
                      float* y);

// The same with a residual (NCHW like y, added before the activation) and a caller-owned
// workspace of conv2d_workspace_floats(w, shape) floats (the engine's memory plan provides it).
Status conv2d_forward(const PackedWeight& w, const ConvShape& shape, const float* x, Epilogue ep, float* y,
                      float* workspace);
int64_t conv2d_workspace_floats(const PackedWeight& w, const ConvShape& shape,
                                PlanChoice choice = PlanChoice::kAuto);

// Fills out_h/out_w from the input size and the kernel geometry; InvalidArgument when empty.
Status conv2d_output_size(ConvShape* shape);

}  // namespace spiralkit

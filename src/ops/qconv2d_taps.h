// The direct path of a dense int8 convolution (k x k, or strided / padded 1x1): no per-tap copy
// of the input.
// qconv2d_forward (ops/qconv2d.h) takes it where qconv2d_taps_applies says so.
#pragma once

#include "core/status.h"
#include "ops/qconv2d.h"

namespace spiralkit {

// Dense weight (the planner's dense choice), one group, not a 1x1 stride-1 unpadded layer,
// C_in % 4 == 0, and an epilogue the kernels' store does alone (bias, ReLU/ReLU6: no residual,
// no post-kernel activation).
bool qconv2d_taps_applies(const QConvPlan& plan, bool dense, const QConvIo& io, const Epilogue& ep);

// The convolution through the tap-major weight (PackedWeightI8::tap_major_panels) over
// channel-interleaved padded planes; `out` is the kernels' epilogue (scale, bias, activation,
// requantization) as qconv2d_forward built it. Bit-identical to the K x M path.
Status qconv2d_taps_forward(const QConvPlan& plan, int64_t batch, const QConvIo& io, const QOutput& out);

}  // namespace spiralkit

// The direct path of a dense int8 convolution (k x k, or strided / padded 1x1): no per-tap copy
// of the input.
// qconv2d_forward (ops/qconv2d.h) takes it where qconv2d_path says so.
#pragma once

#include "core/status.h"
#include "ops/qconv2d.h"
#include "ops/qlinear.h"

namespace spiralkit {

// The direct path's geometry: one group, not a 1x1 stride-1 unpadded layer, C_in % 4 == 0.
bool qconv2d_direct_geometry(const ConvShape& s);

// Whether a sparse weight (1-row `1x4` panels) of a direct-geometry layer runs the direct path
// through PackedWeightI8::tap_major_sparse_panels: its tap-major groups (4 channels of one tap)
// number at most 5/4 of its K-order groups (4 consecutive K values, which for a k x k layer span
// taps), as when it was pruned in blocks along C_in.
bool qconv2d_sparse_taps(const PackedWeightI8& w, const ConvShape& s);

// How qconv2d_forward runs a (not depthwise) int8 convolution, and what Engine.layers() says of
// it: dense or sparse panels, by the planner's cost (a weight qconv2d_sparse_taps takes is costed
// by its tap-major blocks), and whether on the direct path: a direct geometry, an epilogue the
// kernels' store does alone (bias, ReLU/ReLU6: no residual, no post-kernel activation:
// `kernel_epilogue`), and a dense weight or one qconv2d_sparse_taps takes.
struct QConvPath {
  bool dense = false, direct = false;
};
QConvPath qconv2d_path(const PackedWeightI8& w, const ConvShape& s, PlanChoice choice, bool kernel_epilogue);

// The convolution through the tap-major weight (PackedWeightI8::tap_major_panels, or its sparse
// panels when not `dense`) over channel-interleaved padded planes; `out` is the kernels' epilogue
// (scale, bias, activation, requantization) as qconv2d_forward built it. Bit-identical to the
// K x M path.
Status qconv2d_taps_forward(const QConvPlan& plan, bool dense, int64_t batch, const QConvIo& io, const QOutput& out);

}  // namespace spiralkit

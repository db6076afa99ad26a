// Dense 3x3 stride-1 convolution by Winograd F(4x4, 3x3): 36 multiplies per 4x4 output tile
// and channel pair instead of 144, for the layers the plan runs dense (ResNet's 3x3 stages).
// Small planes keep the direct path: their few tiles cannot amortise the 4x larger filters.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "ops/epilogue.h"
#include "sparse/packed_weight.h"
#include "spiralkit_kernels/f32-sconv.h"

namespace spiralkit {

// Output planes below this many pixels (14 x 14) stay on the direct path.
constexpr int64_t kWinogradMinPixels = 196;

// True when this convolution runs as Winograd: 3x3, stride 1, dilation 1, one group, a dense plan
// for its pixels, enough channels and pixels.
bool winograd_eligible(const PackedWeight& w, const ConvShape& s, PlanChoice choice);

int64_t winograd_workspace_floats(const ConvShape& s, int threads);

// y (NCHW) = conv(x) + bias, activation and residual of `ep`; `workspace` holds
// winograd_workspace_floats(s, get_num_threads()) floats.
Status winograd_conv(const PackedWeight& w, const ConvShape& s, const float* x, const Epilogue& ep, float* y,
                     float* workspace);

}  // namespace spiralkit

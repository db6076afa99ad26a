// Linear op driver: y[m, :] = act(x[m, :] W^T + bias) for m rows, over a PackedWeight.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "sparse/packed_weight.h"
#include "spiralkit_kernels/activation.h"

namespace spiralkit {

// x: m x K contiguous; y: m x N contiguous; bias: N floats or null.
Status linear_forward(const PackedWeight& w, const float* x, int64_t m, const float* bias, Activation act, float* y);

}  // namespace spiralkit

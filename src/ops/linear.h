// Linear op driver: y[m, :] = act(x[m, :] W^T + bias) for m rows, over a PackedWeight.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "sparse/packed_weight.h"
#include "ops/epilogue.h"
#include "spiralkit_kernels/activation.h"

namespace spiralkit {

// x: m x K contiguous; y: m x N contiguous; bias: N floats or null.
Status linear_forward(const PackedWeight& w, const float* x, int64_t m, const float* bias, Activation act, float* y);
// The same with an optional residual (m x N, added before the activation).
Status linear_forward(const PackedWeight& w, const float* x, int64_t m, Epilogue ep, float* y);

}  // namespace spiralkit

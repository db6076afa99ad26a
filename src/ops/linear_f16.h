// The float16 sparse path (a weight made float16 by convert_to_float16): linear and 1x1 convolution
// with fp16 weights, fp16 activations (converted once per call) and fp16 FMAs (f16-spmm rows);
// bias, activation and outputs are fp32. Unsupported without fp16 hardware (never reached then:
// the pack is refused).
#pragma once

#include <cstdint>

#include "core/status.h"
#include "sparse/packed_weight.h"
#include "spiralkit_kernels/f32-sconv.h"

namespace spiralkit {

// y[m x N] = act(x[m x K] W^T + bias); x, y fp32 row-major.
Status linear_forward_f16(const PackedWeight& w, const float* x, int64_t m, const float* bias, Activation act,
                          float* y);

// NCHW 1x1 convolution, stride 1, no padding, groups 1 (other geometries: Unsupported).
Status conv1x1_forward_f16(const PackedWeight& w, const ConvShape& s, const float* x, const float* bias,
                           Activation act, float* y);

}  // namespace spiralkit

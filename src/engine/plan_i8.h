// The engine's int8 layers: what a Conv2d/Linear node whose weight is quantized runs, and the
// kernel name the plan shows for it. The fp32 paths stay in engine.cc; these are called from there.
#pragma once

#include <string>

#include "core/status.h"
#include "graph/quantized_weight.h"
#include "ops/epilogue.h"
#include "spiralkit_kernels/f32-sconv.h"

namespace spiralkit {

std::string qlinear_kernel_name(const QuantizedWeight& q, int64_t m, PlanChoice choice);
std::string qconv_kernel_name(const QuantizedWeight& q, const ConvShape& s, PlanChoice choice);

// Whether a quantized convolution runs its int8 kernels at this shape. A depthwise convolution
// does only where the int8 depthwise row is vectorized: the scalar row ran MobileNet-v2's 17
// depthwise layers in 18 ms where the fp32 kernels take ~1 ms (Zen 4), so the plan keeps fp32
// there (same input and output, no quantization error).
bool conv_runs_int8(const ConvShape& s);

Status run_quantized_conv(const QuantizedWeight& q, const ConvShape& s, const float* x, const Epilogue& ep, float* y);

}  // namespace spiralkit

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

Status run_quantized_conv(const QuantizedWeight& q, const ConvShape& s, const float* x, const Epilogue& ep, float* y);

}  // namespace spiralkit

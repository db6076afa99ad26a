// Quantized linear op driver: y[m, :] = act(dequant(quant(x[m, :]) W_q^T) + bias) over a
// PackedWeightI8, with fp32 activations in and out (the quantize step is fused into the packing
// of x, the dequantize into the kernels' epilogue). Split into plan (scales folded once) and run.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "ops/epilogue.h"
#include "sparse/packed_weight_i8.h"

namespace spiralkit {

// How activations entering the op are quantized: q = clamp(round(x / scale) + zero_point, 0, 255).
struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
Status check_quant_params(const QuantParams& q, const char* what);

struct QLinearPlan {
  const PackedWeightI8* w = nullptr;
  QuantParams x;
  std::vector<float> row_scale;  // x.scale * w.scales[n]
};

Status qlinear_plan(const PackedWeightI8& w, const QuantParams& x, QLinearPlan* plan);

// x: m x K contiguous fp32; y: m x N contiguous fp32. ep: bias (fp32, N), activation, residual,
// and a forced sparse/dense choice.
Status qlinear_forward(const QLinearPlan& plan, const float* x, int64_t m, Epilogue ep, float* y);

// True when the dense 4-row panels are cheaper than the weight's sparse panels for m rows.
bool qplan_dense(const PackedWeightI8& w, int64_t m, PlanChoice choice = PlanChoice::kAuto);

}  // namespace spiralkit

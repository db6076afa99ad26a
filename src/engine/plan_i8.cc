#include "engine/plan_i8.h"

#include "config/kernel_registry_i8.h"
#include "ops/planner.h"
#include "ops/qconv2d.h"

namespace spiralkit {

std::string qlinear_kernel_name(const QuantizedWeight& q, int64_t m, PlanChoice choice) {
  const PackedWeightI8& w = *q.w;
  const bool dense = qplan_dense(w, m, choice);
  if (m < kGemvRows && (dense || w.panels.r == 1))
    return std::string("int8 ") + (dense ? select_qs8_gemv()->name : select_qs8_spmv()->name);
  return std::string("int8 ") + (dense ? select_qs8_gemm()->name : select_qs8_spmm(w.panels.r)->name);
}

namespace {
bool depthwise(const ConvShape& s) { return s.groups > 1 && s.groups == s.in_channels && s.groups == s.out_channels; }
}  // namespace

bool conv_runs_int8(const ConvShape& s) { return !depthwise(s) || select_qs8_dwconv()->isa != Isa::kScalar; }

std::string qconv_kernel_name(const QuantizedWeight& q, const ConvShape& s, PlanChoice choice) {
  if (depthwise(s))
    return std::string("int8 ") + select_qs8_dwconv()->name;
  const bool dense = qplan_dense(*q.w, s.out_h * s.out_w, choice);
  return std::string("int8 ") + (dense ? select_qs8_gemm()->name : select_qs8_spmm(q.w->panels.r)->name);
}

Status run_quantized_conv(const QuantizedWeight& q, const ConvShape& s, const float* x, const Epilogue& ep, float* y) {
  QConvPlan plan;
  SPIRALKIT_RETURN_IF_ERROR(qconv2d_plan(q.layer, s, &plan));
  return qconv2d_forward(plan, s.batch, x, ep, y);
}

}  // namespace spiralkit

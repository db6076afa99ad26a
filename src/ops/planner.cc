#include "ops/planner.h"

#include "config/kernel_costs.h"
#include "config/kernel_registry.h"
#include "hw/cpu_features.h"

namespace spiralkit {

bool plan_dense(const PackedWeight& w, int64_t m, PlanChoice choice) {
  if (w.pattern.kind == PatternKind::kDense || choice == PlanChoice::kDense) return true;
  if (choice == PlanChoice::kSparse) return false;
  const bool gemv = m < kGemvRows;
  const PanelPack& p = gemv ? w.gemv_panels() : w.panels;
  const double sparse = double(p.blocks()) * p.r * kernel_value_cost(p.r, m);
  const double dense = double(w.rows) * double(w.cols) * (gemv ? 1.0 : kernel_value_cost(8, m));
  return dense < sparse;
}

const PanelPack& plan_panels(const PackedWeight& w, int64_t m, PlanChoice choice) {
  if (w.pattern.kind == PatternKind::kDense) return w.panels;
  if (plan_dense(w, m, choice)) return w.dense_panels();
  return m < kGemvRows ? w.gemv_panels() : w.panels;
}

bool dwconv_reads_unpadded() {
  const Isa isa = select_dwconv()->isa;
  return isa == Isa::kAvx2 || isa == Isa::kAvx512;
}

int64_t depthwise_blocked_below() {
  const Isa isa = select_dwconv()->isa;
  return isa == Isa::kAvx512 ? 9 : isa == Isa::kAvx2 ? 16 : 32;
}

bool depthwise_stride2_narrow_per_plane(const ConvShape& s) {
  return select_dwconv()->isa == Isa::kAvx512 && s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 2 &&
         s.stride_w == 2 && s.pad_w == 1 && s.dilation_h == 1 && s.dilation_w == 1 && s.out_w <= 7;
}

int64_t fused_block_min_width() { return select_dwconv()->isa == Isa::kAvx512 ? 1 : depthwise_blocked_below(); }

}  // namespace spiralkit

#include "ops/planner.h"

namespace spiralkit {
namespace {

// Relative cost of one stored value (one multiply-add per activation row), measured on the
// kernels (AVX-512, Zen 5, BERT shapes): R = 1 (CSR) streams one K x M row from L2 per FMA group
// and runs ~3.7x slower per value than the 8x1 dense panels; at one row CSR's gathers are ~7x
// slower per value than the dense GEMV, while 4x1/8x1 blocks cost ~1.4x / ~1.1x.
double value_cost(int r, int64_t m) {
  if (m < 4) return r == 1 ? 7.0 : (r == 4 ? 1.4 : 1.1);
  return r == 1 ? 3.5 : 1.0;
}

}  // namespace

bool plan_dense(const PackedWeight& w, int64_t m) {
  if (w.pattern.kind == PatternKind::kDense) return true;
  const double sparse = double(w.panels.blocks()) * w.panels.r * value_cost(w.panels.r, m);
  const double dense = double(w.rows) * double(w.cols) * (m < 4 ? 1.0 : value_cost(8, m));
  return dense < sparse;
}

const PanelPack& plan_panels(const PackedWeight& w, int64_t m) {
  if (w.pattern.kind == PatternKind::kDense) return w.panels;
  return plan_dense(w, m) ? w.dense_panels() : w.panels;
}

}  // namespace spiralkit

#include "ops/planner.h"

namespace spiralkit {
namespace {

// Relative cost of one stored value (one multiply-add per activation row), measured on the
// kernels: R = 1 (CSR) needs one vector load per FMA and runs at about half the FMA rate of the
// block kernels; at one row the bytes per value decide (4 + 2/R index bytes; gathers for CSR).
double value_cost(int r, int64_t m) {
  if (m < 4) return r == 1 ? 3.0 : 1.0 + 0.5 / r;
  return r == 1 ? 2.0 : 1.0;
}

}  // namespace

const PanelPack& plan_panels(const PackedWeight& w, int64_t m) {
  if (w.pattern.kind == PatternKind::kDense) return w.panels;
  const double sparse = double(w.panels.blocks()) * w.panels.r * value_cost(w.panels.r, m);
  const double dense = double(w.rows) * double(w.cols) * value_cost(8, m);
  return sparse <= dense ? w.panels : w.dense_panels();
}

}  // namespace spiralkit

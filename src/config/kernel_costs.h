// Relative cost of one stored weight value (one multiply-add per activation row) for each panel
// height R, measured on the AVX-512 kernels (Zen 5, BERT shapes, one thread) against the dense
// 8x1 panels (GEMV: the dense row kernel). The packer picks a panel height with it and the
// planner weighs sparse against the dense fallback.
//  - many rows (m >= 64): 8x1/4x1 = 1 (one K x M vector load shared by 4-8 rows); 2x1 row pairs
//    ~1.9; CSR ~4 (one load per FMA group, L2-bound).
//  - 4 <= m < 64 (one or two vectors of M): 4x1 ~1.65, 2x1 ~3, CSR ~5.7 (broadcast-bound).
//  - GEMV (m < 4): 8x1 / 4x1 blocks (16-bit index, inserted broadcasts) ~1.1 / ~1.4; CSR gathers ~7.
#pragma once

#include <cstdint>

namespace spiralkit {

inline double kernel_value_cost(int r, int64_t m) {
  if (m < 4) return r == 8 ? 1.1 : (r == 4 ? 1.4 : 7.0);
  if (m < 64) return r == 8 ? 1.0 : (r == 4 ? 1.65 : (r == 2 ? 3.0 : 5.7));
  return r >= 4 ? 1.0 : (r == 2 ? 1.9 : 4.0);
}

}  // namespace spiralkit

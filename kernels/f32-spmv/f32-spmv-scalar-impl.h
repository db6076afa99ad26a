// Portable GEMV over Rx1 panels (any R): plain loops, the fallback of every CPU.
#pragma once
#include <algorithm>
#include <cstdint>

#include "spiralkit_kernels/panels.h"

namespace {
template <int R>
void spmv_scalar(const spiralkit::PanelView& w, int64_t p_begin, int64_t p_end, const float* x, float* y,
                 const float* bias, spiralkit::Activation act) {
  for (int64_t p = p_begin; p < p_end; ++p) {
    float acc[R] = {};
    for (int32_t b = w.ptr[p]; b < w.ptr[p + 1]; ++b) {
      const float xv = x[w.kidx[b]];
      const float* v = w.vals + int64_t(b) * R;
      for (int r = 0; r < R; ++r) acc[r] += v[r] * xv;
    }
    const int64_t n0 = p * R;
    const int valid = static_cast<int>(std::min<int64_t>(R, w.rows - n0));
    for (int r = 0; r < valid; ++r) y[n0 + r] = spiralkit::apply_activation(acc[r] + (bias ? bias[n0 + r] : 0.0f), act);
  }
}
}  // namespace

// GEMV over CSR rows (R = 1 panels, 16-bit column indices), plain C++ shared by the x86 and NEON
// rows: per non-zero an index, an x and a value load and one FMA; internal linkage.
#pragma once
#include <cstdint>

#include "spiralkit_kernels/panels.h"

namespace {

// CSR rows: eight scalar FMA chains (latency 4 would cap four at one non-zero per cycle); each non-zero costs three loads (index, x, value) and no
// gather — gathers of 8/16 lanes measured slower per element on Zen 5.
inline void spmv_csr(const spiralkit::PanelView& w, int64_t p_begin, int64_t p_end, const float* x, float* y,
                     const float* bias, spiralkit::Activation act) {
  const uint16_t* kidx = w.kidx16;
  const float* vals = w.vals;
  for (int64_t n = p_begin; n < p_end; ++n) {
    int32_t b = w.ptr[n];
    const int32_t e = w.ptr[n + 1];
    float s[8] = {};
    for (; b + 8 <= e; b += 8) {
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) s[j] += vals[b + j] * x[kidx[b + j]];
    }
    for (; b < e; ++b) s[0] += vals[b] * x[kidx[b]];
    const float s0 = s[0] + s[4], s1 = s[1] + s[5], s2 = s[2] + s[6], s3 = s[3] + s[7];
    y[n] = spiralkit::apply_activation((s0 + s1) + (s2 + s3) + (bias ? bias[n] : 0.0f), act);
  }
}

}  // namespace

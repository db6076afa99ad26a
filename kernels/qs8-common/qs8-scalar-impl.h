// Plain C++ loops behind the __scalar qs8 rows (any CPU). Same packed layouts and the same
// epilogue (qs8_store) as the vector rows. Internal linkage.
#pragma once
#include <algorithm>
#include <cstdint>

#include "spiralkit_kernels/qs8.h"

namespace {

inline int32_t qs8_wrap_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

template <int R, bool DENSE>
void qs8_spmm_scalar(const spiralkit::QPanelView& w, int64_t p_begin, int64_t p_end, const spiralkit::QXtArgs& a) {
  for (int64_t p = p_begin; p < p_end; ++p) {
    const int64_t n0 = p * R;
    const int valid = static_cast<int>(std::min<int64_t>(R, w.rows - n0));
    const int32_t b0 = w.ptr[p], b1 = w.ptr[p + 1];
    for (int64_t i = 0; i < a.m; ++i) {
      int32_t acc[R] = {};
      for (int32_t b = b0; b < b1; ++b) {
        const int64_t g = DENSE ? b - b0 : w.kidx[b];
        const uint8_t* xr = (a.xoff ? a.x + a.xoff[g] : a.x + g * a.ldx * 4) + i * 4;
        const int8_t* wb = w.vals + static_cast<int64_t>(b) * R * 4;
        for (int r = 0; r < R; ++r)
          for (int j = 0; j < 4; ++j) acc[r] += int32_t(wb[r * 4 + j]) * (int32_t(xr[j]) - a.x_zero_point);
      }
      for (int r = 0; r < valid; ++r) {
        const int64_t yoff = (n0 + r - a.y_row0) * a.ldy + i;
        spiralkit::qs8_store(a.out, n0 + r, acc[r], a.out.y_f32 ? a.out.y_f32 + yoff : nullptr,
                             a.out.y_u8 ? a.out.y_u8 + yoff : nullptr);
      }
    }
  }
}

// One activation row over r-row panels (DENSE: every group in order).
template <int R, bool DENSE>
void qs8_gemv_scalar(const spiralkit::QPanelView& w, int64_t p_begin, int64_t p_end, const spiralkit::QGemvArgs& a) {
  for (int64_t p = p_begin; p < p_end; ++p) {
    const int64_t n0 = p * R;
    const int valid = static_cast<int>(std::min<int64_t>(R, w.rows - n0));
    int32_t acc[R] = {};
    const int32_t b0 = w.ptr[p], b1 = w.ptr[p + 1];
    for (int32_t b = b0; b < b1; ++b) {
      const int64_t g = DENSE ? b - b0 : w.kidx[b];
      const uint8_t* xr = a.x + g * 4;
      const int8_t* wb = w.vals + static_cast<int64_t>(b) * R * 4;
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < 4; ++j) acc[r] += int32_t(wb[r * 4 + j]) * (int32_t(xr[j]) - a.x_zero_point);
    }
    for (int r = 0; r < valid; ++r) {
      const int64_t yoff = n0 + r - a.y_row0;
      spiralkit::qs8_store(a.out, n0 + r, acc[r], a.out.y_f32 ? a.out.y_f32 + yoff : nullptr,
                           a.out.y_u8 ? a.out.y_u8 + yoff : nullptr);
    }
  }
}

}  // namespace

// The qs8 kernels' packed layout (spiralkit_kernels/qs8.h QPanelView), built once from an int8
// N x K matrix: panels of r rows over groups of 4 consecutive K columns.
#pragma once

#include <cstdint>
#include <vector>

#include "spiralkit_kernels/qs8.h"

namespace spiralkit {

struct QPanelPack {
  int r = 1;
  int64_t rows = 0, cols = 0, groups = 0;
  std::vector<int32_t> ptr, kidx, row_sum;
  std::vector<int8_t> vals;

  int64_t panels() const { return static_cast<int64_t>(ptr.size()) - 1; }
  int64_t blocks() const { return static_cast<int64_t>(kidx.size()); }
  QPanelView view() const;
};

// Panels of height r (1 or 4) from a dense row-major int8 rows x cols matrix: a block wherever any
// of the panel's r x 4 values is non-zero (every group when keep_all: the dense fallback).
// Callers check cols <= 65536 (the int32 accumulator bound).
void build_qpanels(const int8_t* w, int64_t rows, int64_t cols, int r, bool keep_all, QPanelPack* out);

}  // namespace spiralkit

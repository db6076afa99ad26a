// The fast kernels' packed layout (spiralkit_kernels/panels.h), built from a PackedWeight once:
// at pack time for the weight's own pattern, lazily-once for the dense fallback panels.
#pragma once

#include <cstdint>
#include <vector>

#include "spiralkit_kernels/panels.h"

namespace spiralkit {

struct PanelPack {
  int r = 1;
  int64_t rows = 0, cols = 0;
  std::vector<int32_t> ptr, kidx;
  std::vector<uint16_t> kidx16;  // unused when cols > 65536; kKidx16Padding zeros past the end
  static constexpr int kKidx16Padding = 8;  // GEMV kernels read whole groups of 4 indices
  bool has_kidx16 = false;
  std::vector<float> vals;

  int64_t panels() const { return static_cast<int64_t>(ptr.size()) - 1; }
  int64_t blocks() const { return static_cast<int64_t>(kidx.size()); }
  PanelView view() const;
};

// A panel pack's column indices remapped to element offsets into a zero-padded C x hp x wp input
// (k = (c, r, q) -> c*hp*wp + r*dil_h*wp + q*dil_w): the K x M kernels then run a stride-1 k x k
// convolution straight on the padded planes, with no im2col. Built once per input geometry.
struct ConvOffsets {
  const PanelPack* src = nullptr;
  int64_t hp = 0, wp = 0;
  int kh = 1, kw = 1, dil_h = 1, dil_w = 1;
  std::vector<int32_t> kidx;
};
void build_conv_offsets(ConvOffsets* out);

// Panels of height r from a dense rows x cols matrix: a block wherever any of the panel's rows
// is non-zero at column k (all columns when keep_all: the dense fallback).
void build_panels(const float* dense, int64_t rows, int64_t cols, int r, bool keep_all, PanelPack* out);

}  // namespace spiralkit

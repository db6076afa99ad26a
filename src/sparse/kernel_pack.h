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

// A panel pack's column indices remapped to element offsets into "phase planes" of the zero-padded
// input, so that the K x M kernels run a k x k convolution with no im2col. The padded input is
// split by output stride into phases (ph, pw) = (padded row % stride_h, padded column % stride_w),
// each an hq x wq plane; tap (r, q) of channel c reads phase ((r*dil_h) % stride_h, (q*dil_w) %
// stride_w) shifted by ((r*dil_h) / stride_h, (q*dil_w) / stride_w). Only phases some tap uses are
// stored (a strided 1x1 needs one). Stride 1: one phase, the padded plane itself.
struct ConvOffsets {
  const PanelPack* src = nullptr;
  int64_t hq = 0, wq = 0;
  int kh = 1, kw = 1, dil_h = 1, dil_w = 1, stride_h = 1, stride_w = 1;
  int phases = 1;                  // stored phase planes per channel
  std::vector<int> phase_slot;     // [stride_h * stride_w]: slot of phase (ph, pw), -1 if unused
  std::vector<int32_t> kidx;
};
void build_conv_offsets(ConvOffsets* out);

// Panels of height r from a dense rows x cols matrix: a block wherever any of the panel's rows
// is non-zero at column k (all columns when keep_all: the dense fallback).
void build_panels(const float* dense, int64_t rows, int64_t cols, int r, bool keep_all, PanelPack* out);

}  // namespace spiralkit

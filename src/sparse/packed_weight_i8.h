// PackedWeightI8 owns an int8 weight: symmetric per-output-channel scales (w ~ q * scale[n], q in
// [-127, 127], so a pruned zero stays an exact 0) and the qs8 kernels' panels. 1x4 blocks (and any
// other sparsity) pack as 1-row panels over groups of 4 K columns; `4x4` blocks as 4-row panels;
// dense weights as full 4-row panels, the layout the dense GEMM/GEMV rows read.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "core/pattern.h"
#include "core/status.h"
#include "sparse/qpanel_pack_i8.h"

namespace spiralkit {

// The largest K a qs8 weight may have: sum of K products of int8 x uint8 fits in an int32.
constexpr int64_t kQs8MaxCols = 65536;

struct PackedWeightI8 {
  Pattern pattern;
  int64_t rows = 0, cols = 0;
  int64_t nnz = 0;              // non-zero int8 values
  std::vector<float> scales;    // [rows] weight scale per output channel
  QPanelPack panels;            // the pattern's panels (r = 4 for `4x4` and dense, else 1)

  // Dense 4-row panels for the dense fallback (GEMM/GEMV), built on first use and kept.
  const QPanelPack& dense_panels() const;
  // Dense 4-row panels of a k x k convolution's weight (cols = C * taps, C % 4 == 0) with its K
  // columns reordered tap-major, column (c, tap) at group tap * C / 4 + c / 4, lane c % 4: each K
  // group is 4 channels of one tap, one word of the channel-interleaved planes the direct int8
  // convolution reads (ops/qconv2d_taps.cc). Built on first use and kept; row_sum is unchanged.
  const QPanelPack& tap_major_panels(int64_t taps) const;
  // The same K order as 1-row panels of the non-zero groups only: a sparse convolution whose
  // blocks are 4 input channels of one tap (pruned along C_in) runs the direct path through them.
  const QPanelPack& tap_major_sparse_panels(int64_t taps) const;
  // How many blocks those panels hold, counted once without building them (the planner asks
  // this of every sparse k x k layer; only the ones that take the direct path build the panels).
  int64_t tap_major_blocks(int64_t taps) const;
  // Dense row-major int8 values, built on first use and kept (depthwise conv reads it).
  const std::vector<int8_t>& dense_values() const;
  // Writes the dense rows x cols int8 matrix.
  void to_dense(int8_t* out) const;
  // Bytes of the stored arrays (int8 values, indices, scales).
  int64_t nbytes() const;

 private:
  std::vector<int8_t> tap_major_values(int64_t taps) const;
  mutable std::once_flag dense_once_, dense_panels_once_, tap_major_once_, tap_major_sparse_once_, tap_major_count_once_;
  mutable int64_t tap_major_blocks_ = 0;
  mutable std::vector<int8_t> dense_;
  mutable QPanelPack dense_panels_, tap_major_panels_, tap_major_sparse_panels_;
};

// dst = src (rows x cols int8, cols = C * taps) with its K columns (c, tap) moved between
// PyTorch's order (c * taps + tap) and tap-major (tap * C + c); `to_tap_major` picks the direction.
void reorder_taps_i8(const int8_t* src, int64_t rows, int64_t cols, int64_t taps, bool to_tap_major, int8_t* dst);

// 4-wide groups of consecutive columns holding a non-zero, over a rows x cols row-major int8 matrix.
int64_t nonzero_groups_i8(const int8_t* w, int64_t rows, int64_t cols);

// Quantizes a dense fp32 rows x cols weight per output row (scale = max|w| / 127, q =
// round-half-even(w / scale), as ONNX Runtime's per-channel symmetric quantization does) and packs it.
// With `scales` (a QDQ model's, [rows]) those are used instead: an fp32 weight that was dequantized
// from int8 with them comes back exactly.
Status quantize_weight_i8(const float* dense, int64_t rows, int64_t cols, const Pattern& pattern,
                          std::unique_ptr<PackedWeightI8>* out, const float* scales = nullptr);

// Packs an already-quantized weight (a QDQ model's int8 initializer, or an artifact's): q is dense
// row-major int8, scales[rows] positive and finite.
Status pack_weight_i8(const int8_t* q, const float* scales, int64_t rows, int64_t cols, const Pattern& pattern,
                      std::unique_ptr<PackedWeightI8>* out);

}  // namespace spiralkit

#include "sparse/packed_weight_i8.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace spiralkit {

const QPanelPack& PackedWeightI8::dense_panels() const {
  if (panels.r == 4 && pattern.kind == PatternKind::kDense) return panels;
  std::call_once(dense_panels_once_, [&] { build_qpanels(dense_values().data(), rows, cols, 4, true, &dense_panels_); });
  return dense_panels_;
}

void reorder_taps_i8(const int8_t* src, int64_t rows, int64_t cols, int64_t taps, bool to_tap_major, int8_t* dst) {
  const int64_t channels = cols / taps;
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t natural = n * cols + c * taps + t, major = n * cols + t * channels + c;
        if (to_tap_major) dst[major] = src[natural]; else dst[natural] = src[major];
      }
}

int64_t nonzero_groups_i8(const int8_t* w, int64_t rows, int64_t cols) {
  int64_t count = 0;
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t k0 = 0; k0 < cols; k0 += 4) {
      bool any = false;
      for (int64_t k = k0; k < std::min(cols, k0 + 4); ++k) any |= w[n * cols + k] != 0;
      count += any;
    }
  return count;
}

std::vector<int8_t> PackedWeightI8::tap_major_values(int64_t taps) const {
  const std::vector<int8_t>& d = dense_values();
  std::vector<int8_t> reordered(d.size());
  reorder_taps_i8(d.data(), rows, cols, taps, true, reordered.data());
  return reordered;
}

const QPanelPack& PackedWeightI8::tap_major_panels(int64_t taps) const {
  std::call_once(tap_major_once_, [&] { build_qpanels(tap_major_values(taps).data(), rows, cols, 4, true, &tap_major_panels_); });
  return tap_major_panels_;
}

int64_t PackedWeightI8::tap_major_blocks(int64_t taps) const {
  std::call_once(tap_major_count_once_, [&] { tap_major_blocks_ = nonzero_groups_i8(tap_major_values(taps).data(), rows, cols); });
  return tap_major_blocks_;
}

const QPanelPack& PackedWeightI8::tap_major_sparse_panels(int64_t taps) const {
  std::call_once(tap_major_sparse_once_,
                 [&] { build_qpanels(tap_major_values(taps).data(), rows, cols, 1, false, &tap_major_sparse_panels_); });
  return tap_major_sparse_panels_;
}

const std::vector<int8_t>& PackedWeightI8::dense_values() const {
  std::call_once(dense_once_, [&] {
    dense_.assign(static_cast<size_t>(rows * cols), 0);
    to_dense(dense_.data());
  });
  return dense_;
}

void PackedWeightI8::to_dense(int8_t* out) const {
  std::fill(out, out + rows * cols, int8_t(0));
  const int r = panels.r;
  for (int64_t p = 0; p < panels.panels(); ++p)
    for (int32_t b = panels.ptr[p]; b < panels.ptr[p + 1]; ++b)
      for (int i = 0; i < r; ++i)
        for (int j = 0; j < 4; ++j) {
          const int64_t n = p * r + i, k = int64_t(panels.kidx[b]) * 4 + j;
          if (n < rows && k < cols) out[n * cols + k] = panels.vals[(int64_t(b) * r + i) * 4 + j];
        }
}

int64_t PackedWeightI8::nbytes() const {
  return static_cast<int64_t>(panels.vals.size() + 4 * (panels.kidx.size() + panels.ptr.size() + scales.size()));
}

Status pack_weight_i8(const int8_t* q, const float* scales, int64_t rows, int64_t cols, const Pattern& pattern,
                      std::unique_ptr<PackedWeightI8>* out) {
  if (rows < 1 || cols < 1) return Status::InvalidArgument("weight: expected a non-empty matrix");
  if (cols > kQs8MaxCols)
    return Status::Unsupported("weight: int8 kernels take K <= " + std::to_string(kQs8MaxCols) + " (got " +
                               std::to_string(cols) + ")");
  for (int64_t n = 0; n < rows; ++n)
    if (!(scales[n] > 0.0f) || !std::isfinite(scales[n]))
      return Status::InvalidArgument("scales[" + std::to_string(n) + "]: expected a positive finite weight scale");
  auto w = std::make_unique<PackedWeightI8>();
  w->pattern = pattern;
  w->rows = rows;
  w->cols = cols;
  w->scales.assign(scales, scales + rows);
  for (int64_t i = 0; i < rows * cols; ++i) w->nnz += q[i] != 0;
  const bool dense = pattern.kind == PatternKind::kDense;
  const bool rows4 = dense || (pattern.kind == PatternKind::kBlock && pattern.block_rows == 4 && pattern.block_cols == 4);
  build_qpanels(q, rows, cols, rows4 ? 4 : 1, dense, &w->panels);
  *out = std::move(w);
  return Status::Ok();
}

Status quantize_weight_i8(const float* dense, int64_t rows, int64_t cols, const Pattern& pattern,
                          std::unique_ptr<PackedWeightI8>* out, const float* given) {
  if (rows < 1 || cols < 1) return Status::InvalidArgument("weight: expected a non-empty matrix");
  std::vector<float> scales(static_cast<size_t>(rows));
  std::vector<int8_t> q(static_cast<size_t>(rows * cols));
  for (int64_t n = 0; n < rows; ++n) {
    float amax = 0.0f;
    for (int64_t k = 0; k < cols; ++k) {
      const float v = dense[n * cols + k];
      if (!std::isfinite(v)) return Status::InvalidArgument("weight: non-finite value in row " + std::to_string(n));
      amax = std::max(amax, std::fabs(v));
    }
    const float s = given ? given[n] : (amax > 0.0f ? amax / 127.0f : 1.0f);
    if (!(s > 0.0f) || !std::isfinite(s))
      return Status::InvalidArgument("scales[" + std::to_string(n) + "]: expected a positive finite weight scale");
    scales[n] = s;
    for (int64_t k = 0; k < cols; ++k) {
      const float t = std::nearbyint(dense[n * cols + k] / s);
      q[n * cols + k] = static_cast<int8_t>(t > 127.0f ? 127.0f : (t < -127.0f ? -127.0f : t));
    }
  }
  return pack_weight_i8(q.data(), scales.data(), rows, cols, pattern, out);
}

}  // namespace spiralkit

// Scalar reference for every packed format. Written for obviousness, not speed: each format is
// decoded into (n, k, value) triples and accumulated in double, then rounded once to float.
#include <algorithm>
#include <vector>

#include "spiralkit_kernels/f32-spmm.h"

namespace spiralkit {
namespace {

// Calls visit(n, k, value) for every stored entry of row n (explicit zeros included).
template <typename Visit>
void for_each_in_row(const SparseMatrixView& w, int64_t n, Visit visit) {
  switch (w.format) {
    case Format::kDense:
      for (int64_t k = 0; k < w.cols; ++k) visit(k, w.values[n * w.cols + k]);
      break;
    case Format::kCsr:
      for (int32_t i = w.row_ptr[n]; i < w.row_ptr[n + 1]; ++i) visit(w.col_idx[i], w.values[i]);
      break;
    case Format::kBsr: {
      const int64_t block_row = n / w.block_rows;
      const int64_t r = n % w.block_rows;
      const int64_t block_size = int64_t(w.block_rows) * w.block_cols;
      for (int32_t b = w.row_ptr[block_row]; b < w.row_ptr[block_row + 1]; ++b) {
        const int64_t k0 = int64_t(w.col_idx[b]) * w.block_cols;
        for (int c = 0; c < w.block_cols; ++c) {
          if (k0 + c < w.cols) visit(k0 + c, w.values[b * block_size + r * w.block_cols + c]);
        }
      }
      break;
    }
    case Format::kNm: {
      const int64_t groups = (w.cols + w.nm_m - 1) / w.nm_m;
      const int64_t base = n * groups * w.nm_n;
      for (int64_t g = 0; g < groups; ++g) {
        for (int s = 0; s < w.nm_n; ++s) {
          const int64_t slot = base + g * w.nm_n + s;
          visit(g * w.nm_m + w.nm_offsets[slot], w.values[slot]);
        }
      }
      break;
    }
  }
}

}  // namespace

void spiralkit_f32_spmm_ukernel__reference(const SparseMatrixView& w, const SpmmParams& p) {
  std::vector<double> acc(static_cast<size_t>(p.m));
  for (int64_t n = p.n_begin; n < p.n_end; ++n) {
    const double b = p.bias ? p.bias[n] : 0.0;
    std::fill(acc.begin(), acc.end(), b);
    for_each_in_row(w, n, [&](int64_t k, float v) {
      if (v == 0.0f) return;
      for (int64_t i = 0; i < p.m; ++i) acc[i] += double(v) * p.x[i * p.x_stride_m + k];
    });
    float* out = p.y + (n - p.n_begin) * p.y_stride_n;
    for (int64_t i = 0; i < p.m; ++i) out[i * p.y_stride_m] = apply_activation(float(acc[i]), p.activation);
  }
}

}  // namespace spiralkit

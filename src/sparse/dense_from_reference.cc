#include <string>

#include "sparse/packed_weight.h"

namespace spiralkit {
namespace {

Status bad(const std::string& m) { return Status::FormatError("weight: " + m); }

// row_ptr: `n + 1` non-decreasing offsets from 0 to `total`.
Status check_ptr(const std::vector<int32_t>& ptr, int64_t n, int64_t total) {
  if (static_cast<int64_t>(ptr.size()) != n + 1) return bad("row_ptr has the wrong length");
  if (ptr[0] != 0 || ptr[n] != total) return bad("row_ptr does not span the stored values");
  for (int64_t i = 0; i < n; ++i)
    if (ptr[i] > ptr[i + 1]) return bad("row_ptr decreases at row " + std::to_string(i));
  return Status::Ok();
}

}  // namespace

Status dense_from_reference(const Pattern& p, int64_t rows, int64_t cols, const std::vector<float>& values,
                            const std::vector<int32_t>& row_ptr, const std::vector<int32_t>& col_idx,
                            const std::vector<uint8_t>& nm_offsets, std::vector<float>* dense) {
  if (rows < 0 || cols < 0 || (rows && cols > (int64_t(1) << 31) / rows)) return bad("matrix too large");
  Status vs = validate_pattern(p);
  if (!vs.ok()) return bad(vs.message());
  dense->assign(static_cast<size_t>(rows * cols), 0.0f);
  float* out = dense->data();
  switch (p.kind) {
    case PatternKind::kDense:
      if (static_cast<int64_t>(values.size()) != rows * cols) return bad("dense values have the wrong length");
      *dense = values;
      return Status::Ok();
    case PatternKind::kUnstructured: {
      if (col_idx.size() != values.size()) return bad("col_idx and values differ in length");
      SPIRALKIT_RETURN_IF_ERROR(check_ptr(row_ptr, rows, static_cast<int64_t>(values.size())));
      for (int64_t n = 0; n < rows; ++n)
        for (int32_t i = row_ptr[n]; i < row_ptr[n + 1]; ++i) {
          if (col_idx[i] < 0 || col_idx[i] >= cols) return bad("column index out of range");
          out[n * cols + col_idx[i]] = values[i];
        }
      return Status::Ok();
    }
    case PatternKind::kBlock: {
      const int64_t r = p.block_rows, c = p.block_cols;
      const int64_t brows = (rows + r - 1) / r, bcols = (cols + c - 1) / c;
      const int64_t blocks = static_cast<int64_t>(col_idx.size());
      if (static_cast<int64_t>(values.size()) != blocks * r * c) return bad("block values have the wrong length");
      SPIRALKIT_RETURN_IF_ERROR(check_ptr(row_ptr, brows, blocks));
      for (int64_t br = 0; br < brows; ++br)
        for (int32_t b = row_ptr[br]; b < row_ptr[br + 1]; ++b) {
          if (col_idx[b] < 0 || col_idx[b] >= bcols) return bad("block column out of range");
          for (int64_t i = 0; i < r; ++i)
            for (int64_t j = 0; j < c; ++j) {
              const int64_t n = br * r + i, k = int64_t(col_idx[b]) * c + j;
              if (n < rows && k < cols) out[n * cols + k] = values[(b * r + i) * c + j];
            }
        }
      return Status::Ok();
    }
    case PatternKind::kNm: {
      const int64_t groups = (cols + p.nm_m - 1) / p.nm_m;
      const int64_t slots = rows * groups * p.nm_n;
      if (static_cast<int64_t>(values.size()) != slots || static_cast<int64_t>(nm_offsets.size()) != slots)
        return bad("N:M slots have the wrong length");
      for (int64_t n = 0; n < rows; ++n)
        for (int64_t g = 0; g < groups; ++g)
          for (int s = 0; s < p.nm_n; ++s) {
            const int64_t slot = (n * groups + g) * p.nm_n + s;
            const int64_t k = g * p.nm_m + nm_offsets[slot];
            if (nm_offsets[slot] >= p.nm_m || k >= cols) return bad("N:M offset out of range");
            if (values[slot] != 0.0f) out[n * cols + k] = values[slot];
          }
      return Status::Ok();
    }
  }
  return bad("unknown pattern kind");
}

}  // namespace spiralkit

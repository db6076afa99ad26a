// A read-only view of a packed weight in one of the reference formats, as the kernels see it.
// The logical matrix is N rows (output channels) x K columns (the reduction), K ordered as
// torch's weight.reshape(N, -1). Owned storage lives in src/sparse/packed_weight.h.
#pragma once

#include <cstdint>

namespace spiralkit {

enum class Format : int {
  kDense = 0,         // values[N*K], row-major
  kCsr = 1,           // row_ptr[N+1], col_idx[nnz], values[nnz]
  kBsr = 2,           // RxC blocks: row_ptr[ceil(N/R)+1] over block rows, col_idx = block column,
                      // values[nblocks*R*C] row-major inside a block; edge blocks padded with zeros
  kNm = 3,            // per row, per group of M columns: N slots of (value, uint8 offset in group);
                      // unused slots hold value 0 at a valid offset of their group
};

struct SparseMatrixView {
  Format format = Format::kDense;
  int64_t rows = 0;
  int64_t cols = 0;
  int block_rows = 1;  // R (BSR)
  int block_cols = 1;  // C (BSR)
  int nm_n = 0;        // N (N:M)
  int nm_m = 0;        // M (N:M)
  const float* values = nullptr;
  const int32_t* row_ptr = nullptr;
  const int32_t* col_idx = nullptr;
  const uint8_t* nm_offsets = nullptr;
};

}  // namespace spiralkit

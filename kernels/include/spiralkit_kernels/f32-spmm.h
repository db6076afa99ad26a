// f32 sparse-weight x dense-activation products: y[m, n] = act(sum_k x[m, k] * W[n, k] + bias[n]).
#pragma once

#include <cstdint>

#include "spiralkit_kernels/activation.h"
#include "spiralkit_kernels/sparse_matrix.h"

namespace spiralkit {

struct SpmmParams {
  int64_t m = 0;             // activation rows (tokens x batch, or output pixels)
  const float* x = nullptr;  // x[i * x_stride_m + k], K contiguous
  int64_t x_stride_m = 0;
  int64_t n_begin = 0;       // compute weight rows [n_begin, n_end) only (conv groups use this)
  int64_t n_end = 0;
  const float* bias = nullptr;  // indexed by absolute row n; may be null
  Activation activation = Activation::kNone;
  float* y = nullptr;           // y[i * y_stride_m + (n - n_begin) * y_stride_n]
  int64_t y_stride_m = 0;
  int64_t y_stride_n = 1;
};

// Scalar reference: decodes every format plainly; the oracle of all other spmm kernels.
void spiralkit_f32_spmm_ukernel__reference(const SparseMatrixView& w, const SpmmParams& p);

}  // namespace spiralkit

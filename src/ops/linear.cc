#include "ops/linear.h"

#include <algorithm>

#include "runtime/threads.h"
#include "spiralkit_kernels/f32-spmm.h"

namespace spiralkit {

Status linear_forward(const PackedWeight& w, const float* x, int64_t m, const float* bias, Activation act, float* y) {
  if (m < 0) return Status::InvalidArgument("x: negative row count");
  if (m == 0) return Status::Ok();
  const SparseMatrixView view = w.view();
  const int threads = static_cast<int>(std::min<int64_t>(get_num_threads(), w.rows));
  // Each thread computes a contiguous range of output rows.
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; ++t) {
    SpmmParams p;
    p.m = m;
    p.x = x;
    p.x_stride_m = w.cols;
    p.n_begin = w.rows * t / threads;
    p.n_end = w.rows * (t + 1) / threads;
    p.bias = bias;
    p.activation = act;
    p.y = y + p.n_begin;
    p.y_stride_m = w.rows;
    p.y_stride_n = 1;
    spiralkit_f32_spmm_ukernel__reference(view, p);
  }
  return Status::Ok();
}

}  // namespace spiralkit

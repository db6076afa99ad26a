// The CUDA kernel tables as data: one KernelRow per X-macro row of kernels/cuda/cuda-kernel-list.h,
// in the list's order (best first). Row indices are what the planner returns and what the launch
// table (src/cuda/launch_table.cu, built only with CUDA) indexes by.
#pragma once

#include <cstddef>

#include "cuda/formats.h"

namespace spiralkit {
namespace cuda {

struct KernelRow {
  const char* name;
  int min_sm;
  DType dtype;
  Op op;
  Format format;
  int block_rows;
  int block_cols;
};

// fp32 linear rows (SPIRALKIT_CUDA_F32_LINEAR_KERNELS) and fp16/bf16 rows (SPIRALKIT_CUDA_H16_KERNELS).
const KernelRow* f32_rows(size_t* count);
const KernelRow* h16_rows(size_t* count);

}  // namespace cuda
}  // namespace spiralkit

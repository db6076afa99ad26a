// The vocabulary of the CUDA kernel tables (kernels/cuda/cuda-kernel-list.h): element types, ops and
// the packed layouts the GPU kernels read. Plain C++ (no CUDA headers): the planner and the packers
// run on the CPU and are tested without a GPU.
#pragma once

namespace spiralkit {
namespace cuda {

enum class DType : int { kF32 = 0, kF16 = 1, kBF16 = 2 };
enum class Op : int { kLinear = 0, kConv = 1, kDwConv = 2 };

enum class Format : int {
  // fp32 layouts: the core's reference arrays (sparse/packed_weight.h), uploaded as they are.
  kDense = 0,  // values[n * k]
  kCsr = 1,    // row_ptr, col_idx, values
  kBsr = 2,    // R x C blocks, row-major inside a block
  kNm = 3,     // values + uint8 offsets per N:M group
  // fp16 / bf16 tensor-core layouts (src/cuda/h16_pack.h), in mma fragment order.
  kNm24 = 4,      // 2:4: compressed 16 x 32 tiles + mma.sp metadata words
  kBsr16 = 5,     // 16 x 16 blocks, one m16n8k16 A fragment each
  kBsr32 = 6,     // 32 x 32 blocks, four fragments each
  kDenseH16 = 7,  // dense row-major (depthwise filters)
};

const char* dtype_name(DType d);
const char* op_name(Op o);
const char* format_name(Format f);

}  // namespace cuda
}  // namespace spiralkit

#include "cuda/kernel_table.h"

#include "kernels/cuda/cuda-kernel-list.h"

namespace spiralkit {
namespace cuda {

#define SPIRALKIT_CUDA_ROW(fn, sm, dt, op, fmt, r, c) {#fn, sm, DType::dt, Op::op, Format::fmt, r, c},

namespace {
const KernelRow kF32Rows[] = {SPIRALKIT_CUDA_F32_LINEAR_KERNELS(SPIRALKIT_CUDA_ROW)};
const KernelRow kH16Rows[] = {SPIRALKIT_CUDA_H16_KERNELS(SPIRALKIT_CUDA_ROW)};
}  // namespace

#undef SPIRALKIT_CUDA_ROW

const KernelRow* f32_rows(size_t* count) {
  *count = sizeof(kF32Rows) / sizeof(kF32Rows[0]);
  return kF32Rows;
}

const KernelRow* h16_rows(size_t* count) {
  *count = sizeof(kH16Rows) / sizeof(kH16Rows[0]);
  return kH16Rows;
}

const char* dtype_name(DType d) {
  switch (d) {
    case DType::kF32: return "float32";
    case DType::kF16: return "float16";
    case DType::kBF16: return "bfloat16";
  }
  return "?";
}

const char* op_name(Op o) {
  switch (o) {
    case Op::kLinear: return "linear";
    case Op::kConv: return "conv2d";
    case Op::kDwConv: return "depthwise_conv2d";
  }
  return "?";
}

const char* format_name(Format f) {
  switch (f) {
    case Format::kDense: return "dense";
    case Format::kCsr: return "csr";
    case Format::kBsr: return "bsr";
    case Format::kNm: return "nm";
    case Format::kNm24: return "nm24";
    case Format::kBsr16: return "bsr16";
    case Format::kBsr32: return "bsr32";
    case Format::kDenseH16: return "dense";
  }
  return "?";
}

}  // namespace cuda
}  // namespace spiralkit

// Kernel choice for the GPU: which packed layout a weight gets at pack time, and which kernel row
// (kernels/cuda/cuda-kernel-list.h) runs a call, or the dense vendor library (cuBLAS / cuDNN, reached
// through torch by the Python layer) where the sparse kernel would lose. Plain C++: tested on the CPU.
#pragma once

#include <cstdint>
#include <string>

#include "core/pattern.h"
#include "core/status.h"
#include "cuda/formats.h"

namespace spiralkit {
namespace cuda {

// ---- fp32 (CUDA cores)

// The layout an fp32 weight of `pattern` is packed into. Block shapes without their own kernel
// (anything but 4x1, 8x1 and 16x16) are packed as CSR.
Format f32_format(const Pattern& pattern);
// What spiralkit.cuda reports as the weight's kernel family: dense, csr, bsr, bsr16x16, nm.
std::string f32_family_name(Format format, int block_rows, int block_cols);
// Row of SPIRALKIT_CUDA_F32_LINEAR_KERNELS for an m-row call, or -1 when no row takes the layout.
// Dense: the 64 x 64 tiled GEMM once its tiles fill the GPU twice, warp-per-row before that.
int choose_f32_row(Format format, int block_rows, int block_cols, int64_t m, int64_t n, int num_sms);

// ---- fp16 / bf16 (tensor cores)

// The tensor-core layout for a pattern: 2:4 -> kNm24, 16x16 -> kBsr16, 32x32 -> kBsr32; false when
// the pattern has none (the weight then runs dense through the vendor library).
bool h16_format(const Pattern& pattern, Format* format);

enum class Mode : int { kAuto = 0, kSparse = 1, kDense = 2 };

struct H16Problem {
  Op op = Op::kLinear;
  bool has_format = false;  // false: the weight has no tensor-core layout
  Format format = Format::kNm24;
  DType dtype = DType::kF16;
  double density = 1.0;  // stored fraction: kept blocks (BSR) or 0.5 (2:4)
  int64_t m = 0;         // GEMM rows: tokens, or batch * out_h * out_w for a convolution
  int64_t n = 0, k = 0;  // output channels, reduction
  int sm = 0;            // compute capability, major * 10 + minor
  Mode mode = Mode::kAuto;
};

struct H16Choice {
  int row = -1;        // SPIRALKIT_CUDA_H16_KERNELS row; -1 = dense vendor library
  std::string reason;  // why (shown by spiralkit.cuda's plan())
};

// The thresholds kAuto uses. They are set from the fp32 measurements and the targets of the
// tensor-core kernels, not from runs of these kernels (none has run on a GPU yet): measure and
// replace them (benchmarks/cuda_linear.py prints where sparse starts to win).
constexpr int64_t kNm24MinRows = 1024;  // 2:4 below this: dense cuBLAS
constexpr double kBsrMaxDensity = 0.25; // BSR above this kept-block fraction: dense cuBLAS

// kSparse asks for the sparse kernel and fails (Unsupported) where there is none for the problem;
// kDense always picks the vendor library; kAuto applies the thresholds above.
Status plan_h16(const H16Problem& problem, H16Choice* choice);

}  // namespace cuda
}  // namespace spiralkit

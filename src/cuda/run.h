// Running a DeviceWeight: kernel choice (kernel_choice.h) on the device's facts, then one launch
// from the kernel tables on the caller's stream. Nothing here allocates. Pointers are device
// addresses the binding layer took from DLPack tensors it has already checked (dtype, shape,
// device, contiguity). CUDA builds only (run.cu).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "cuda/device_weight.h"
#include "cuda/kernel_choice.h"

namespace spiralkit {
namespace cuda {

struct LinearCall {
  const void* x = nullptr;  // [m, k] row-major, the weight's dtype
  int64_t m = 0;
  void* y = nullptr;  // [m, n]
  const void* bias = nullptr;
  int activation = 0;
  void* stream = nullptr;  // cudaStream_t
  int device = 0;
};

struct ConvCall {
  const void* x = nullptr;  // NCHW [batch, c_in, h, w]
  void* y = nullptr;        // NCHW [batch, n, out_h, out_w]
  const void* bias = nullptr;
  int activation = 0;
  int64_t batch = 0, c_in = 0, h = 0, w = 0, out_h = 0, out_w = 0;
  int kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  void* stream = nullptr;
  int device = 0;
};

// The fp16 / bf16 choice for an m-row call of `op` on this weight (row -1: dense vendor library).
Status plan(const DeviceWeight& w, Op op, int64_t m, Mode mode, H16Choice* choice);

// fp32: chooses the kernel itself (choose_f32_row) and names it in *kernel.
Status run_linear_f32(const DeviceWeight& w, const LinearCall& call, std::string* kernel);
// fp16 / bf16: runs kernel row `row` of SPIRALKIT_CUDA_H16_KERNELS, as returned by plan().
Status run_h16_linear(const DeviceWeight& w, int row, const LinearCall& call);
Status run_h16_conv(const DeviceWeight& w, int row, const ConvCall& call);

// Name of an H16 kernel row (for logs and spiralkit.cuda's plan()).
const char* h16_kernel_name(int row);

}  // namespace cuda
}  // namespace spiralkit

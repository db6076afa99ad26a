// Channel-blocked depthwise convolution: L channels (the row's tile) interleaved per pixel, so
// one vector holds one pixel of L channels and every tap is a plain vector FMA. The NCHW
// per-plane kernel (f32-dwconv) wastes most lanes on 7- and 14-wide planes and pays a padded
// copy per plane; this layout does not (ONNX Runtime's NCHWc and XNNPACK's NHWC do the same).
// The driver (src/ops/conv2d.cc) transposes L planes in and out around the kernel.
#pragma once

#include <cstdint>

#include "spiralkit_kernels/activation.h"

namespace spiralkit {

struct DwCbArgs {
  const float* x = nullptr;     // zero-padded input, [hp][wp][L]: the padding already applied
  int64_t wp = 0;               // padded row length in pixels
  int64_t out_h = 0, out_w = 0;
  const float* w = nullptr;     // [kh * kw][L] taps, channel-interleaved
  const float* bias = nullptr;  // [L]
  int kh = 1, kw = 1, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  Activation act = Activation::kNone;
  float* y = nullptr;           // [out_h * out_w][L]
};
using DwCbFn = void (*)(const DwCbArgs& a);

}  // namespace spiralkit

// X(function, ISA, 1, L = channels per block).
#if defined(SPIRALKIT_ARCH_x86)
#define SPIRALKIT_ARCH_F32_DWCONVCB(X) X(spiralkit_f32_dwconvcb_ukernel__avx512, kAvx512, 1, 16) \
  X(spiralkit_f32_dwconvcb_ukernel__avx2, kAvx2, 1, 8)
#elif defined(SPIRALKIT_ARCH_arm64)
#define SPIRALKIT_ARCH_F32_DWCONVCB(X) X(spiralkit_f32_dwconvcb_ukernel__neon, kNeon, 1, 8)
#else
#define SPIRALKIT_ARCH_F32_DWCONVCB(X)
#endif
#define SPIRALKIT_F32_DWCONVCB_KERNELS(X) SPIRALKIT_ARCH_F32_DWCONVCB(X) \
  X(spiralkit_f32_dwconvcb_ukernel__scalar, kScalar, 1, 4)

namespace spiralkit {
#define SPIRALKIT_DECLARE_DWCONVCB(fn, isa, r, tile) void fn(const DwCbArgs&);
SPIRALKIT_F32_DWCONVCB_KERNELS(SPIRALKIT_DECLARE_DWCONVCB)
}  // namespace spiralkit

// Row facts for SPIRALKIT_CHECK_ROW in each kernel file (tile = channels per block = W * U).
#include "spiralkit_kernels/kernel-list.h"
namespace spiralkit_rows {
SPIRALKIT_F32_DWCONVCB_KERNELS(SPIRALKIT_ROW_FACTS)
}  // namespace spiralkit_rows

// The fused activation of every CUDA kernel, in fp32. Same definitions and codes as
// kernels/include/spiralkit_kernels/activation.h (GELU: exact erf).
#pragma once

#include <cuda_runtime.h>

namespace spiralkit {
namespace cuda {
namespace detail {

__device__ __forceinline__ float activate(float v, int act) {
  switch (act) {
    case 1: return v > 0.0f ? v : 0.0f;
    case 2: return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    case 3: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case 4: return v / (1.0f + expf(-v));
    case 5: return 1.0f / (1.0f + expf(-v));
    default: return v;
  }
}

}  // namespace detail
}  // namespace cuda
}  // namespace spiralkit

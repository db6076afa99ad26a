// Winograd F(4x4, 3x3) band (neon build): transforms vectorized by this file's flags, GEMMs on the
// 4x4v f32-gemm tile.
#include "simd/vec-neon.h"
#include "f32-gemm/f32-gemm-impl.h"
#include "f32-winograd/f32-winograd-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_winograd_ukernel_4x4__neon(const WinogradArgs& a) { winograd_band<VecNeon, 4, 4>(a); }
SPIRALKIT_CHECK_ROW(spiralkit_f32_winograd_ukernel_4x4__neon, 4, kWinoChannels);

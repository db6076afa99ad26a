// Winograd F(4x4, 3x3) band (avx512 build): transforms vectorized by this file's flags, GEMMs on the
// 4x4v f32-gemm tile.
#include "simd/vec-avx512.h"
#include "f32-gemm/f32-gemm-impl.h"
#include "f32-winograd/f32-winograd-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_winograd_ukernel_4x4__avx512(const WinogradArgs& a) { winograd_band<VecAvx512, 4, 4>(a); }
SPIRALKIT_CHECK_ROW(spiralkit_f32_winograd_ukernel_4x4__avx512, 4, kWinoChannels);

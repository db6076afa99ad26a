// Winograd F(4x4, 3x3) band (avx2 build): transforms vectorized by this file's flags, GEMMs on the
// 6x2v f32-gemm tile.
#include "simd/vec-avx2.h"
#include "f32-gemm/f32-gemm-impl.h"
#include "f32-winograd/f32-winograd-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_winograd_ukernel_4x4__avx2(const WinogradArgs& a) { winograd_band<VecAvx2, 6, 2>(a); }
SPIRALKIT_CHECK_ROW(spiralkit_f32_winograd_ukernel_4x4__avx2, 4, kWinoChannels);

// Depthwise conv plane (avx2).
#include "simd/vec-avx2.h"
#include "f32-dwconv/f32-dwconv-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_dwconv_ukernel__avx2(const DwArgs& a) { dwconv_planes<VecAvx2>(a); }
SPIRALKIT_CHECK_ROW(spiralkit_f32_dwconv_ukernel__avx2, 1, VecAvx2::W);

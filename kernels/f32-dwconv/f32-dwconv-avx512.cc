// Depthwise conv plane (avx512).
#include "simd/vec-avx512.h"
#include "f32-dwconv/f32-dwconv-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_dwconv_ukernel__avx512(const DwArgs& a) { dwconv_planes<VecAvx512>(a); }
SPIRALKIT_CHECK_ROW(spiralkit_f32_dwconv_ukernel__avx512, 1, VecAvx512::W);

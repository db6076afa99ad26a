// Depthwise conv plane (NEON; stride 2 through ld2 de-interleaving loads).
#include "simd/vec-neon.h"
#include "f32-dwconv/f32-dwconv-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_dwconv_ukernel__neon(const DwArgs& a) { dwconv_planes<VecNeon>(a); }
SPIRALKIT_CHECK_ROW(spiralkit_f32_dwconv_ukernel__neon, 1, VecNeon::W);

// Depthwise conv plane (scalar).
#include "simd/vec-scalar.h"
#include "f32-dwconv/f32-dwconv-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_dwconv_ukernel__scalar(const DwArgs& a) { dwconv_planes<VecScalar>(a); }
SPIRALKIT_CHECK_ROW(spiralkit_f32_dwconv_ukernel__scalar, 1, VecScalar::W);

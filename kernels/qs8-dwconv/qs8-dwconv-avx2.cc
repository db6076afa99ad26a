// Depthwise int8 convolution of one channel plane (avx2), exact in fp32 (qs8-dwconv-impl.h).
#include "simd/vec-avx2.h"
#include "qs8-dwconv/qs8-dwconv-impl.h"

void spiralkit::spiralkit_qs8_dwconv_ukernel__avx2(const QDwArgs& a) { qs8_dwconv_plane<VecAvx2>(a); }

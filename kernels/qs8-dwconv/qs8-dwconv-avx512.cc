// Depthwise int8 convolution of one channel plane (avx512), exact in fp32 (qs8-dwconv-impl.h).
#include "simd/vec-avx512.h"
#include "qs8-dwconv/qs8-dwconv-impl.h"

void spiralkit::spiralkit_qs8_dwconv_ukernel__avx512(const QDwArgs& a) { qs8_dwconv_plane<VecAvx512>(a); }

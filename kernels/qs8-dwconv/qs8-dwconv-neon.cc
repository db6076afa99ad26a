// Depthwise int8 convolution of one channel plane (neon), exact in fp32 (qs8-dwconv-impl.h).
#include "simd/vec-neon.h"
#include "qs8-dwconv/qs8-dwconv-impl.h"

void spiralkit::spiralkit_qs8_dwconv_ukernel__neon(const QDwArgs& a) { qs8_dwconv_plane<VecNeon>(a); }

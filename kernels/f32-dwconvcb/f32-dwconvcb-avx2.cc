// Channel-blocked depthwise convolution (avx2): 1 vector(s) of channels per pixel, 4 pixels per step.
#include "simd/vec-avx2.h"
#include "f32-dwconvcb/f32-dwconvcb-impl.h"

void spiralkit::spiralkit_f32_dwconvcb_ukernel__avx2(const DwCbArgs& a) { dwconvcb<VecAvx2, 1, 4>(a); }
SPIRALKIT_CHECK_ROW(spiralkit_f32_dwconvcb_ukernel__avx2, 1, VecAvx2::W * 1);

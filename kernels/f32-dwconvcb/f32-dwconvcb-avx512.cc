// Channel-blocked depthwise convolution (avx512): 1 vector(s) of channels per pixel, 8 pixels per step.
#include "simd/vec-avx512.h"
#include "f32-dwconvcb/f32-dwconvcb-impl.h"

void spiralkit::spiralkit_f32_dwconvcb_ukernel__avx512(const DwCbArgs& a) { dwconvcb<VecAvx512, 1, 8>(a); }
SPIRALKIT_CHECK_ROW(spiralkit_f32_dwconvcb_ukernel__avx512, 1, VecAvx512::W * 1);

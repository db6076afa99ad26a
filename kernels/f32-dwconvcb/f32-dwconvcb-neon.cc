// Channel-blocked depthwise convolution (neon): 2 vector(s) of channels per pixel, 2 pixels per step
// (4 accumulators + 18 hoisted 3x3 taps fit the 32 NEON registers).
#include "simd/vec-neon.h"
#include "f32-dwconvcb/f32-dwconvcb-impl.h"

void spiralkit::spiralkit_f32_dwconvcb_ukernel__neon(const DwCbArgs& a) { dwconvcb<VecNeon, 2, 2>(a); }
SPIRALKIT_CHECK_ROW(spiralkit_f32_dwconvcb_ukernel__neon, 1, VecNeon::W * 2);

// Channel-blocked depthwise convolution (avx2): 1 vector(s) of channels per pixel, 7 pixels per
// step. Seven accumulators and the nine 3x3 taps fill the 16 registers, the taps read from memory
// by the FMAs; 7 is also a whole MobileNet 7-wide row and half of a 14-wide one. Against 4 pixels
// (Zen 3, one core, the kernel alone over 8-channel blocks, /tmp harness): 14x14 1.15-1.28x,
// 7x7 1.45-1.52x, 14x14 stride 2 1.29-1.35x; 6 pixels between the two, 8 (spills) behind 4.
#include "simd/vec-avx2.h"
#include "f32-dwconvcb/f32-dwconvcb-impl.h"

void spiralkit::spiralkit_f32_dwconvcb_ukernel__avx2(const DwCbArgs& a) { dwconvcb<VecAvx2, 1, 7>(a); }
SPIRALKIT_CHECK_ROW(spiralkit_f32_dwconvcb_ukernel__avx2, 1, VecAvx2::W * 1);

// Channel-blocked depthwise convolution (scalar): 4 vector(s) of channels per pixel, 1 pixels per step.
#include "simd/vec-scalar.h"
#include "f32-dwconvcb/f32-dwconvcb-impl.h"

void spiralkit::spiralkit_f32_dwconvcb_ukernel__scalar(const DwCbArgs& a) { dwconvcb<VecScalar, 4, 1>(a); }
SPIRALKIT_CHECK_ROW(spiralkit_f32_dwconvcb_ukernel__scalar, 1, VecScalar::W * 4);

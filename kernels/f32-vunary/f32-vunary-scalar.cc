// Elementwise activations / math, 16-lane vector-extension code built for scalar.
#include "f32-vunary/f32-vunary-impl.h"

void spiralkit::spiralkit_f32_vunary_ukernel__scalar(int kind, const float* x, float* y, int64_t n, float p0, float p1) {
  vunary(kind, x, y, n, p0, p1);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_vunary_ukernel__scalar, 1, kLanes);

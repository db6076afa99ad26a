// Fused softmax row (scale, mask, max, exp, sum, normalise), built for scalar.
#include "f32-softmax/f32-softmax-impl.h"

void spiralkit::spiralkit_f32_softmax_ukernel__scalar(const float* x, float* y, int64_t n, float scale, const float* mask,
                                                  int64_t mask_stride) {
  softmax_row(x, y, n, scale, mask, mask_stride);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_softmax_ukernel__scalar, 1, kLanes);

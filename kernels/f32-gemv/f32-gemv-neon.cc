// Dense GEMV, 4 rows x 2 vectors per step (NEON: 8 FMA chains).
#include "simd/vec-neon.h"
#include "f32-gemv/f32-gemv-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_gemv_ukernel__neon(const float* w, int64_t k, int64_t n_begin, int64_t n_end,
                                              const float* x, float* y, const float* bias, Activation act) {
  gemv_rows<VecNeon, 2>(w, k, n_begin, n_end, x, y, bias, act);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_gemv_ukernel__neon, 4, VecNeon::W);

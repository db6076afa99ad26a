// Dense activation GEMM, 6 rows x 2 vectors (avx2: 12 accumulators of 16 ymm).
#include "simd/vec-avx2.h"
#include "f32-gemm/f32-gemm-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_gemm_ukernel_6x2v__avx2(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                                                    const float* b, int64_t ldb, float* c, int64_t ldc) {
  gemm_rows<VecAvx2, 6, 2>(m, n, k, a, lda, b, ldb, c, ldc);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_gemm_ukernel_6x2v__avx2, 6, 2 * VecAvx2::W);

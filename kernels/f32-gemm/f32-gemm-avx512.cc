// Dense activation GEMM, 4 rows x 4 vectors (avx512).
#include "simd/vec-avx512.h"
#include "f32-gemm/f32-gemm-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_gemm_ukernel_4x4v__avx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                                                    const float* b, int64_t ldb, float* c, int64_t ldc) {
  gemm_rows<VecAvx512, 4, 4>(m, n, k, a, lda, b, ldb, c, ldc);
}
SPIRALKIT_CHECK_ROW(spiralkit_f32_gemm_ukernel_4x4v__avx512, 4, 4 * VecAvx512::W);

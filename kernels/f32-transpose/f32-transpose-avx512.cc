// Matrix transpose, 8x8 AVX register tiles (avx512 build).
#include "f32-transpose/f32-transpose-impl.h"
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_transpose_ukernel__avx512(const float* in, int64_t ldi, int64_t rows, int64_t cols,
                                                     float* out, int64_t ldo) {
  transpose_avx(in, ldi, rows, cols, out, ldo);
}

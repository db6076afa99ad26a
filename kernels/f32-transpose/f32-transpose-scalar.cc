// Matrix transpose, portable: 8x8 cache tiles.
#include "spiralkit_kernels/kernel-list.h"

void spiralkit::spiralkit_f32_transpose_ukernel__scalar(const float* in, int64_t ldi, int64_t rows, int64_t cols,
                                                       float* out, int64_t ldo) {
  for (int64_t r0 = 0; r0 < rows; r0 += 8)
    for (int64_t c0 = 0; c0 < cols; c0 += 8)
      for (int64_t r = r0; r < r0 + 8 && r < rows; ++r)
        for (int64_t c = c0; c < c0 + 8 && c < cols; ++c) out[c * ldo + r] = in[r * ldi + c];
}

// Reductions over a contiguous float row with 16 independent lanes: plain loops cannot vectorize
// a float sum or max (reordering changes rounding), and a single dependency chain costs ~4 cycles
// per element. Compiled per ISA through SPIRALKIT_CLONES (defined in row_reduce.cc).
#pragma once

#include <cstdint>

namespace spiralkit {

float row_sum(const float* x, int64_t n);
// y[r] = mean of row r (rows of n > 0 contiguous values).
void row_means(const float* x, int64_t rows, int64_t n, float* y);
// sum of (x - mean)^2
float row_centered_sumsq(const float* x, int64_t n, float mean);

}  // namespace spiralkit

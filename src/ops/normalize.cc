#include <algorithm>
#include <cmath>

#include "config/kernel_registry.h"
#include "ops/clones.h"
#include "ops/row_reduce.h"
#include "ops/tensor_math.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {
int threads_for_rows(int64_t rows, int64_t row_cost) {
  const int64_t by_work = std::max<int64_t>(1, rows * row_cost / (32 * 1024));
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({get_num_threads(), rows, by_work})));
}
SPIRALKIT_CLONES void layernorm_row(const float* xr, float* yr, int64_t cols, const float* scale, const float* bias,
                                    float eps) {
  const float mean = row_sum(xr, cols) / static_cast<float>(cols);
  const float var = row_centered_sumsq(xr, cols, mean);
  const float inv = 1.0f / std::sqrt(var / static_cast<float>(cols) + eps);
  if (bias) {
    for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] - mean) * inv * scale[i] + bias[i];
  } else {
    for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] - mean) * inv * scale[i];
  }
}

SPIRALKIT_CLONES void affine_plane(const float* xp, float* yp, int64_t n, float a, float b) {
  for (int64_t i = 0; i < n; ++i) yp[i] = xp[i] * a + b;
}

}  // namespace

// Rows softmax: max-subtracted exp through the vector kernel, then one scale. A strided axis
// (inner > 1) uses a plain loop: exporters put softmax on the last axis almost always.
void softmax_forward(const float* x, float* y, int64_t outer, int64_t axis, int64_t inner) {
  const SoftmaxFn softmax = select_softmax()->fn;
  if (inner == 1) {
    parallel_run(threads_for_rows(outer, axis * 4), [&](int t, int nt) {
      for (int64_t r = outer * t / nt; r < outer * (t + 1) / nt; ++r) {
        const float* xr = x + r * axis;
        float* yr = y + r * axis;
        softmax(xr, yr, axis, 1.0f, nullptr, 1);
      }
    });
    return;
  }
  parallel_run(threads_for_rows(outer * inner, axis * 8), [&](int t, int nt) {
    const int64_t total = outer * inner;
    for (int64_t j = total * t / nt; j < total * (t + 1) / nt; ++j) {
      const int64_t o = j / inner, i = j % inner;
      const float* xr = x + o * axis * inner + i;
      float* yr = y + o * axis * inner + i;
      float mx = -INFINITY;
      for (int64_t a = 0; a < axis; ++a) mx = std::max(mx, xr[a * inner]);
      float sum = 0.0f;
      for (int64_t a = 0; a < axis; ++a) sum += (yr[a * inner] = std::exp(xr[a * inner] - mx));
      for (int64_t a = 0; a < axis; ++a) yr[a * inner] /= sum;
    }
  });
}

// Two passes per row in double-free float: mean, then centred variance (stable for large means).
void layernorm_forward(const float* x, float* y, int64_t rows, int64_t cols, const float* scale, const float* bias,
                       float eps) {
  parallel_run(threads_for_rows(rows, cols * 3), [&](int t, int nt) {
    for (int64_t r = rows * t / nt; r < rows * (t + 1) / nt; ++r)
      layernorm_row(x + r * cols, y + r * cols, cols, scale, bias, eps);
  });
}

void channel_affine_forward(const float* x, float* y, int64_t n, int64_t c, int64_t inner, const float* a,
                            const float* b) {
  const int64_t planes = n * c;
  parallel_run(threads_for_rows(planes, inner), [&](int t, int nt) {
    for (int64_t p = planes * t / nt; p < planes * (t + 1) / nt; ++p) {
      affine_plane(x + p * inner, y + p * inner, inner, a[p % c], b[p % c]);
    }
  });
}

// Generic: every input element adds into its output slot (a reduced dim maps to index 0).
void reduce_mean_forward(const float* x, const Shape& sx, uint32_t reduced_bits, float* y) {
  const size_t r = sx.size();
  auto reduced = [&](size_t d) { return ((reduced_bits >> d) & 1u) != 0; };
  Dims ostride;
  ostride.fill(0);
  int64_t out_n = 1, count = 1;
  for (size_t d = r; d-- > 0;) {
    if (reduced(d)) {
      count *= sx[d];
    } else {
      ostride[d] = out_n;
      out_n *= sx[d];
    }
  }
  std::fill(y, y + out_n, 0.0f);
  int64_t total = 1;
  for (int64_t d : sx) total *= d;
  // Fast path: reducing only trailing dims (rows of a matrix), the LayerNorm-decomposed case.
  size_t first_red = r;
  while (first_red > 0 && reduced(first_red - 1)) --first_red;
  bool trailing = true;
  for (size_t d = 0; d < first_red; ++d) trailing = trailing && !reduced(d);
  if (trailing && count > 0) {
    row_means(x, out_n, count, y);
    return;
  }
  Dims idx;
  idx.fill(0);
  for (int64_t e = 0; e < total; ++e) {
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d) off += idx[d] * ostride[d];
    y[off] += x[e];
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < sx[d]) break;
      idx[d] = 0;
    }
  }
  const float inv = count ? 1.0f / static_cast<float>(count) : 0.0f;
  for (int64_t o = 0; o < out_n; ++o) y[o] *= inv;
}

}  // namespace spiralkit

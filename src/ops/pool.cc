#include <algorithm>
#include <cmath>

#include "ops/row_reduce.h"
#include "ops/tensor_math.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

template <class Window>
void pool_planes(const float* x, const Shape& sx, const std::vector<int64_t>& p, float* y, const Shape& sy,
                 Window window) {
  const int64_t planes = sx[0] * sx[1], ih = sx[2], iw = sx[3], oh = sy[2], ow = sy[3];
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), planes)));
  parallel_run(threads, [&](int t, int nt) {
    for (int64_t pl = planes * t / nt; pl < planes * (t + 1) / nt; ++pl) {
      const float* xp = x + pl * ih * iw;
      float* yp = y + pl * oh * ow;
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) yp[i * ow + j] = window(xp, ih, iw, i * p[2] - p[4], j * p[3] - p[5]);
    }
  });
}

}  // namespace

// Separable: each input row is padded with -inf once and max-reduced horizontally into the output
// columns (per kernel column, a strided pass the compiler vectorizes), then kernel rows are
// max-reduced vertically. Per plane this is O(rows x cols x (kh + kw)) contiguous work.
void max_pool_forward(const float* x, const Shape& sx, const std::vector<int64_t>& p, float* y, const Shape& sy) {
  const int64_t kh = p[0], kw = p[1], sh = p[2], sw = p[3], pt = p[4], pl = p[5], dh = p[8], dw = p[9];
  const int64_t planes = sx[0] * sx[1], ih = sx[2], iw = sx[3], oh = sy[2], ow = sy[3];
  // Widest padded row any window touches (ceil_mode may reach past the right pad).
  const int64_t pw = std::max<int64_t>(pl + iw + p[7], (ow - 1) * sw + (kw - 1) * dw + 1);
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), planes)));
  // Common case (2x2 or 3x3 windows, no padding, every window inside): read x directly.
  const bool inside = pt == 0 && pl == 0 && p[6] == 0 && p[7] == 0 && dh == 1 && dw == 1 &&
                      (oh - 1) * sh + kh <= ih && (ow - 1) * sw + kw <= iw;
  if (inside && kh == 2 && kw == 2 && sh == 2 && sw == 2) {
    parallel_run(threads, [&](int t, int nt) {
      for (int64_t q = planes * t / nt; q < planes * (t + 1) / nt; ++q) {
        const float* xp = x + q * ih * iw;
        float* yp = y + q * oh * ow;
        for (int64_t i = 0; i < oh; ++i) {
          const float* r0 = xp + 2 * i * iw;
          const float* r1 = r0 + iw;
          float* yr = yp + i * ow;
          for (int64_t j = 0; j < ow; ++j)
            yr[j] = std::max(std::max(r0[2 * j], r0[2 * j + 1]), std::max(r1[2 * j], r1[2 * j + 1]));
        }
      }
    });
    return;
  }
  parallel_run(threads, [&](int t, int nt) {
    thread_local std::vector<float> row, hmax;
    row.resize(static_cast<size_t>(pw));
    hmax.resize(static_cast<size_t>(ih * ow));
    for (int64_t pl_i = planes * t / nt; pl_i < planes * (t + 1) / nt; ++pl_i) {
      const float* xp = x + pl_i * ih * iw;
      float* yp = y + pl_i * oh * ow;
      for (int64_t h = 0; h < ih; ++h) {
        std::fill(row.begin(), row.end(), -INFINITY);
        std::copy(xp + h * iw, xp + (h + 1) * iw, row.begin() + pl);
        float* hm = hmax.data() + h * ow;
        const float* r = row.data();
        for (int64_t j = 0; j < ow; ++j) hm[j] = r[j * sw];
        for (int64_t b = 1; b < kw; ++b) {
          const float* rb = r + b * dw;
          for (int64_t j = 0; j < ow; ++j) hm[j] = std::max(hm[j], rb[j * sw]);
        }
      }
      for (int64_t i = 0; i < oh; ++i) {
        float* yr = yp + i * ow;
        std::fill(yr, yr + ow, -INFINITY);
        for (int64_t a = 0; a < kh; ++a) {
          const int64_t h = i * sh - pt + a * dh;
          if (h < 0 || h >= ih) continue;
          const float* hm = hmax.data() + h * ow;
          for (int64_t j = 0; j < ow; ++j) yr[j] = std::max(yr[j], hm[j]);
        }
      }
    }
  });
}

// count_include_pad counts the padded positions inside the padded input (not the ceil_mode
// overhang), as ONNX and torch do.
void avg_pool_forward(const float* x, const Shape& sx, const std::vector<int64_t>& p, float* y, const Shape& sy) {
  const int64_t kh = p[0], kw = p[1];
  const bool include_pad = p[11] != 0;
  const int64_t pb = p[6], pr = p[7];
  pool_planes(x, sx, p, y, sy, [=](const float* xp, int64_t ih, int64_t iw, int64_t h0, int64_t w0) {
    float s = 0.0f;
    int64_t n = 0;
    for (int64_t h = std::max<int64_t>(h0, 0); h < std::min(h0 + kh, ih); ++h)
      for (int64_t w = std::max<int64_t>(w0, 0); w < std::min(w0 + kw, iw); ++w) {
        s += xp[h * iw + w];
        ++n;
      }
    if (include_pad) {
      const int64_t hs = std::max<int64_t>(h0, -p[4]), he = std::min(h0 + kh, ih + pb);
      const int64_t ws = std::max<int64_t>(w0, -p[5]), we = std::min(w0 + kw, iw + pr);
      n = (he - hs) * (we - ws);
    }
    return n > 0 ? s / static_cast<float>(n) : 0.0f;
  });
}

void global_avg_pool_forward(const float* x, const Shape& sx, float* y) {
  int64_t inner = 1;
  for (size_t d = 2; d < sx.size(); ++d) inner *= sx[d];
  const int64_t planes = sx[0] * sx[1];
  for (int64_t pl = 0; pl < planes; ++pl) {
    y[pl] = row_sum(x + pl * inner, inner) / static_cast<float>(inner);
  }
}

}  // namespace spiralkit

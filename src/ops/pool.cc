#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/clones.h"
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

// Separable, one output row at a time: the kernel rows it covers are max-reduced vertically into
// one padded row (contiguous), that row is split into its stride_w phases (phase s holds columns
// s, s + sw, ...), and each output column is then the max of kw contiguous phase reads. Every pass
// is a unit-stride loop (the stride-2 split is one gather pass), so uint8 vectorizes as well as
// float; row-first strided reads of uint8 did not (ResNet-50's 3x3/2 pool: slower than fp32's).
// T: float (padding -inf) or uint8 activations (padding 0, their smallest value: the max of a
// window that holds one input element is then that of its elements, and quantization, monotonic,
// commutes with it).
template <class T>
__attribute__((always_inline)) inline void max_rows_into(const T* row, int64_t n, T* acc) {
  for (int64_t w = 0; w < n; ++w) acc[w] = acc[w] < row[w] ? row[w] : acc[w];  // std::max
}
template <class T>
__attribute__((always_inline)) inline void split_phases(const T* row, int64_t phases, int64_t len, T* out) {
  if (phases == 2) {
    for (int64_t k = 0; k < len; ++k) {
      out[k] = row[2 * k];
      out[len + k] = row[2 * k + 1];
    }
    return;
  }
  for (int64_t s = 0; s < phases; ++s)
    for (int64_t k = 0; k < len; ++k) out[s * len + k] = row[k * phases + s];
}
// y[j] = max(v[2j], v[2j + 1], v[2j + 2]). For uint8 on 16-bit words (low byte v[2j], high byte
// v[2j + 1]): shifts, masks and unsigned max the vectorizer maps to whole registers, where a
// stride-2 byte gather did not vectorize (ResNet-50's pool: 0.22 ms of a 7 ms int8 model).
__attribute__((always_inline)) inline void max3_stride2(const float* v, int64_t n, float* y) {
  for (int64_t j = 0; j < n; ++j) {
    const float a = v[2 * j] < v[2 * j + 1] ? v[2 * j + 1] : v[2 * j];
    y[j] = a < v[2 * j + 2] ? v[2 * j + 2] : a;
  }
}
__attribute__((always_inline)) inline void max3_stride2(const uint8_t* v, int64_t n, uint8_t* y) {
  for (int64_t j = 0; j < n; ++j) {
    uint16_t w0, w1;
    std::memcpy(&w0, v + 2 * j, 2);
    std::memcpy(&w1, v + 2 * j + 2, 2);
    uint16_t m = std::max<uint16_t>(w0 & 0xFF, w0 >> 8);
    m = std::max<uint16_t>(m, w1 & 0xFF);
    y[j] = static_cast<uint8_t>(m);
  }
}

// One channel plane, every output row; v (pw) and phase (sw * phase_len) are scratch. Cloned per
// plane, not per row pass: the row loops are short (56-112 elements on ResNet-50's pool), and a
// multi-versioned call per pass cost more than the pass.
template <class T>
__attribute__((always_inline)) inline void max_pool_plane(const T* xp, const int64_t* g, T lowest, T* v, T* phase,
                                                          T* yp) {
  const int64_t kh = g[0], kw = g[1], sh = g[2], sw = g[3], pt = g[4], pl = g[5], dh = g[6], dw = g[7];
  const int64_t ih = g[8], iw = g[9], oh = g[10], ow = g[11], phase_len = g[12], pw = g[13];
  for (int64_t i = 0; i < oh; ++i) {
    std::fill(v, v + pw, lowest);
    for (int64_t a = 0; a < kh; ++a) {
      const int64_t h = i * sh - pt + a * dh;
      if (h >= 0 && h < ih) max_rows_into(xp + h * iw, iw, v + pl);
    }
    T* yr = yp + i * ow;
    if (kw == 3 && sw == 2 && dw == 1) {  // the common 3x3/2 window: no phase split
      max3_stride2(v, ow, yr);
      continue;
    }
    split_phases(v, sw, phase_len, phase);
    std::copy(phase, phase + ow, yr);
    for (int64_t b = 1; b < kw; ++b) {
      const int64_t col = b * dw;
      max_rows_into(phase + (col % sw) * phase_len + col / sw, ow, yr);
    }
  }
}
SPIRALKIT_CLONES void max_pool_plane_f32(const float* xp, const int64_t* g, float* v, float* phase, float* yp) {
  max_pool_plane<float>(xp, g, -INFINITY, v, phase, yp);
}
SPIRALKIT_CLONES void max_pool_plane_u8(const uint8_t* xp, const int64_t* g, uint8_t* v, uint8_t* phase, uint8_t* yp) {
  max_pool_plane<uint8_t>(xp, g, 0, v, phase, yp);
}
inline void plane_of(const float* xp, const int64_t* g, float* v, float* ph, float* yp) {
  max_pool_plane_f32(xp, g, v, ph, yp);
}
inline void plane_of(const uint8_t* xp, const int64_t* g, uint8_t* v, uint8_t* ph, uint8_t* yp) {
  max_pool_plane_u8(xp, g, v, ph, yp);
}

template <class T>
void max_pool_planes(const T* x, const Shape& sx, const std::vector<int64_t>& p, T* y, const Shape& sy) {
  const int64_t kw = p[1], sw = p[3], pl = p[5], dw = p[9];
  const int64_t planes = sx[0] * sx[1], ih = sx[2], iw = sx[3], oh = sy[2], ow = sy[3];
  // Columns of a phase: enough for every window of the row (ceil_mode may reach past the right pad).
  const int64_t phase_len = ow + ((kw - 1) * dw) / sw + 1;
  const int64_t pw = std::max<int64_t>(pl + iw, phase_len * sw);  // the padded row
  const int64_t geometry[14] = {p[0], kw, p[2], sw, p[4], pl, p[8], dw, ih, iw, oh, ow, phase_len, pw};
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), planes)));
  parallel_run(threads, [&](int t, int nt) {
    thread_local std::vector<T> vmax, phase;
    vmax.resize(static_cast<size_t>(pw));
    phase.resize(static_cast<size_t>(sw * phase_len));
    for (int64_t q = planes * t / nt; q < planes * (t + 1) / nt; ++q)
      plane_of(x + q * ih * iw, geometry, vmax.data(), phase.data(), y + q * oh * ow);
  });
}

}  // namespace

void max_pool_forward(const float* x, const Shape& sx, const std::vector<int64_t>& p, float* y, const Shape& sy) {
  max_pool_planes<float>(x, sx, p, y, sy);
}

void max_pool_u8_forward(const uint8_t* x, const Shape& sx, const std::vector<int64_t>& p, uint8_t* y,
                         const Shape& sy) {
  max_pool_planes<uint8_t>(x, sx, p, y, sy);
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
  if (inner > 0) row_means(x, planes, inner, y);
  else std::fill(y, y + planes, std::numeric_limits<float>::quiet_NaN());  // the mean of nothing
}

}  // namespace spiralkit

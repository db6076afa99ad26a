// Depthwise convolution of one channel plane, dense filter: each output row accumulates
// kh x kw shifted input rows with vector FMAs (stride 1) or strided scalar lanes (stride > 1),
// starting from the bias; activation at the end. Internal linkage.
#pragma once
#include <algorithm>
#include <cstdint>

#include "simd/epilogue.h"
#include "spiralkit_kernels/panels.h"

namespace {
template <class V>
void dwconv_plane(const spiralkit::DwArgs& a) {
  constexpr int W = V::W;
  for (int64_t oh = 0; oh < a.out_h; ++oh) {
    float* y = a.y + oh * a.out_w;
    for (int64_t i = 0; i < a.out_w; ++i) y[i] = a.bias;
    for (int r = 0; r < a.kh; ++r) {
      const int64_t ih = oh * a.stride_h - a.pad_h + int64_t(r) * a.dil_h;
      if (ih < 0 || ih >= a.in_h) continue;
      const float* src = a.x + ih * a.in_w;
      for (int q = 0; q < a.kw; ++q) {
        const float wv = a.w[r * a.kw + q];
        const int64_t off = int64_t(q) * a.dil_w - a.pad_w;
        int64_t lo = off >= 0 ? 0 : (-off + a.stride_w - 1) / a.stride_w;
        int64_t hi = a.in_w - off <= 0 ? 0 : (a.in_w - off + a.stride_w - 1) / a.stride_w;
        lo = std::min(lo, a.out_w);
        hi = std::clamp(hi, lo, a.out_w);
        if (a.stride_w == 1) {
          const typename V::T wb = V::set1(wv);
          const float* s = src + off;
          int64_t ow = lo;
          for (; ow + W <= hi; ow += W) V::store(y + ow, V::fma(wb, V::load(s + ow), V::load(y + ow)));
          if (ow < hi) {
            const int n = static_cast<int>(hi - ow);
            V::store_n(y + ow, V::fma(wb, V::load_n(s + ow, n), V::load_n(y + ow, n)), n);
          }
        } else {
          for (int64_t ow = lo; ow < hi; ++ow) y[ow] += wv * src[ow * a.stride_w + off];
        }
      }
    }
    if (a.act != spiralkit::Activation::kNone)
      for (int64_t i = 0; i < a.out_w; ++i) y[i] = spiralkit::apply_activation(y[i], a.act);
  }
}
}  // namespace

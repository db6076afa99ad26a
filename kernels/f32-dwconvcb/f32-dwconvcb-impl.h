// Channel-blocked depthwise convolution (spiralkit_kernels/f32-dwconvcb.h): L = V::W * U channels
// per pixel, U vectors each. A register tile of P output pixels shares each tap's weight vectors;
// the 3x3 case keeps all nine taps in registers for the whole plane. Bias first, ReLU/ReLU6 in
// registers, the other activations on the stored block. Internal linkage.
#pragma once
#include <cstdint>

#include "simd/epilogue.h"
#include "spiralkit_kernels/f32-dwconvcb.h"

namespace {

// P output pixels of row `oh` starting at `ow`; taps from registers (`wreg`, 3x3) or memory.
template <class V, int U, int P, bool kHoisted>
inline void dwcb_pixels(const spiralkit::DwCbArgs& a, int64_t oh, int64_t ow, const typename V::T* wreg) {
  using T = typename V::T;
  constexpr int W = V::W, L = W * U;
  T acc[P][U];
  for (int u = 0; u < U; ++u) {
    const T b = V::load(a.bias + u * W);
    for (int p = 0; p < P; ++p) acc[p][u] = b;
  }
  const int kh = kHoisted ? 3 : a.kh, kw = kHoisted ? 3 : a.kw;
  const int64_t sw = int64_t(a.stride_w) * L;
  const float* row0 = a.x + (oh * a.stride_h * a.wp + ow * a.stride_w) * L;
  for (int r = 0; r < kh; ++r) {
    const float* row = row0 + int64_t(r) * a.dil_h * a.wp * L;
    for (int q = 0; q < kw; ++q) {
      const float* px = row + int64_t(q) * a.dil_w * L;
      for (int u = 0; u < U; ++u) {
        const T w = kHoisted ? wreg[(r * 3 + q) * U + u] : V::load(a.w + (r * kw + q) * L + u * W);
        for (int p = 0; p < P; ++p)
          acc[p][u] = V::fma(w, V::load(px + p * sw + u * W), acc[p][u]);
      }
    }
  }
  float* y = a.y + (oh * a.out_w + ow) * L;
  for (int p = 0; p < P; ++p)
    for (int u = 0; u < U; ++u) V::store(y + p * L + u * W, vec_activation<V>(acc[p][u], a.act));
}

template <class V, int U, int P, bool kHoisted>
void dwcb_plane(const spiralkit::DwCbArgs& a) {
  using T = typename V::T;
  constexpr int W = V::W;
  T wreg[kHoisted ? 9 * U : 1];
  if constexpr (kHoisted)
    for (int t = 0; t < 9; ++t)
      for (int u = 0; u < U; ++u) wreg[t * U + u] = V::load(a.w + t * W * U + u * W);
  for (int64_t oh = 0; oh < a.out_h; ++oh) {
    int64_t ow = 0;
    for (; ow + P <= a.out_w; ow += P) dwcb_pixels<V, U, P, kHoisted>(a, oh, ow, wreg);
    for (; ow < a.out_w; ++ow) dwcb_pixels<V, U, 1, kHoisted>(a, oh, ow, wreg);
  }
  scalar_activation(a.y, a.out_h * a.out_w * W * U, a.act);
}

template <class V, int U, int P>
void dwconvcb(const spiralkit::DwCbArgs& a) {
  if (a.kh == 3 && a.kw == 3 && a.dil_h == 1 && a.dil_w == 1)
    dwcb_plane<V, U, P, true>(a);
  else
    dwcb_plane<V, U, P, false>(a);
}

}  // namespace

// One attention row for the bf16 context GEMM: scale + mask + max (one pass, fp32), then exp and
// sum with the exps rounded straight into bf16 (second pass). The normalisation is left to the
// GEMM's row scale, so the row is read twice instead of the fp32 softmax's three passes plus a
// separate bf16 pack.
#include <immintrin.h>

#include "f32-softmax/f32-softmax-impl.h"
#include "spiralkit_kernels/bf16.h"

float spiralkit::spiralkit_bf16_softmax_ukernel__avx512bf16(float* x, int64_t n, float scale, const float* mask,
                                                            int64_t mask_stride, uint16_t* y) {
  static_assert(kLanes == 16, "built with AVX-512 vectors");
  float mx = -INFINITY;
  int64_t j = 0;
  if (mask && mask_stride != 1) {
    for (; j < n; ++j) {
      x[j] = x[j] * scale + mask[j * mask_stride];
      mx = x[j] > mx ? x[j] : mx;
    }
  } else {
    vf vmx = splat(-INFINITY);
    for (; j + kLanes <= n; j += kLanes) {
      vf v = vload(x + j) * scale;
      if (mask) v += vload(mask + j);
      vstore(x + j, v);
      vmx = vmax(vmx, v);
    }
    mx = hmax(vmx);
    for (; j < n; ++j) {
      x[j] = x[j] * scale + (mask ? mask[j] : 0.0f);
      mx = x[j] > mx ? x[j] : mx;
    }
  }
  vf vsum = {};
  for (j = 0; j + kLanes <= n; j += kLanes) {
    const vf e = vexp_nonpositive(vload(x + j) - mx);
    vsum += e;
    __m512 ev;
    std::memcpy(&ev, &e, sizeof(ev));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + j), (__m256i)_mm512_cvtneps_pbh(ev));
  }
  if (j < n) {  // the tail through one vector padded with -inf (exp 0)
    vf t = splat(-INFINITY);
    std::memcpy(&t, x + j, static_cast<size_t>(n - j) * sizeof(float));
    vf e = vexp_nonpositive(t - mx);
    __m512 ev;
    std::memcpy(&ev, &e, sizeof(ev));
    ev = _mm512_maskz_mov_ps(static_cast<__mmask16>((1u << (n - j)) - 1u), ev);  // exp clamps -inf to ~1e-38
    std::memcpy(&e, &ev, sizeof(ev));
    vsum += e;
    const int64_t left = n - j + ((n - j) & 1);  // the zero pad of an odd row included
    _mm256_mask_storeu_epi16(y + j, static_cast<__mmask16>((1u << left) - 1u), (__m256i)_mm512_cvtneps_pbh(ev));
  }
  return hsum(vsum);
}

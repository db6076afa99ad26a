// fp16 (IEEE binary16) storage for the opt-in float16 sparse path (f16-spmm family, AArch64
// FEAT_FP16): the weight's panel values and the activations are fp16 and the FMAs run in fp16;
// bias, activation and the output stay fp32. Bit conversions here are portable (any CPU builds
// and tests the packing and the reference); only the -neonfp16 kernel files need the hardware.
#pragma once

#include <cstdint>
#include <cstring>

#include "spiralkit_kernels/panels.h"

namespace spiralkit {

// Round to nearest even; overflow -> +-inf, NaN stays NaN, subnormals kept.
inline uint16_t f32_to_f16_bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (abs < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(abs >> 23);  // 14..24
    const uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1u), mid = 1u << (shift - 1);
    return static_cast<uint16_t>(sign | (half + (rem > mid || (rem == mid && (half & 1u)))));
  }
  const uint32_t base = abs - 0x38000000u;  // rebias the exponent 127 -> 15 (mantissa unchanged)
  const uint32_t half = base >> 13, rem = base & 0x1fffu;
  return static_cast<uint16_t>(sign | (half + (rem > 0x1000u || (rem == 0x1000u && (half & 1u)))));
}

inline float f16_bits_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0x1f) {
    x = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    x = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    x = sign;
  } else {  // subnormal half: normalise
    int e = -1;
    uint32_t m = mant;
    do {
      ++e;
      m <<= 1;
    } while ((m & 0x400u) == 0);
    x = sign | ((112u - e) << 23) | ((m & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// K x M fp16 activations, N x M fp32 outputs (the XtArgs layout): y = act(W x + bias).
struct XtArgsF16 {
  const uint16_t* x = nullptr;
  int64_t ldx = 0;
  int64_t m = 0;
  float* y = nullptr;
  int64_t ldy = 0;
  const float* bias = nullptr;  // [rows] absolute, or null
  Activation act = Activation::kNone;
  int64_t y_row0 = 0;
};

// Output rows of panels [p_begin, p_end) over the panel structure `w` (its fp32 vals unused) with
// fp16 values vals16 ([blocks * r], the same order).
using F16SpmmFn = void (*)(const PanelView& w, const uint16_t* vals16, int64_t p_begin, int64_t p_end,
                           const XtArgsF16& a);

// The oracle: fp16 inputs widened to fp32, products summed in double.
void spiralkit_f16_spmm_ukernel__reference(const PanelView& w, const uint16_t* vals16, int64_t p_begin, int64_t p_end,
                                           const XtArgsF16& a);

}  // namespace spiralkit

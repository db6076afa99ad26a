// Activations fused into every kernel's epilogue. Codes match python/spiralkit/ops/activation.py.
#pragma once

#include <cmath>

namespace spiralkit {

enum class Activation : int { kNone = 0, kRelu = 1, kRelu6 = 2, kGelu = 3, kSilu = 4, kSigmoid = 5 };

inline bool activation_is_valid(int code) { return code >= 0 && code <= 5; }

// Scalar definitions, identical to torch's defaults (GELU is the exact erf form).
inline float apply_activation(float v, Activation act) {
  switch (act) {
    case Activation::kNone: return v;
    case Activation::kRelu: return v > 0.0f ? v : 0.0f;
    case Activation::kRelu6: return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    case Activation::kGelu: return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
    case Activation::kSilu: return v / (1.0f + std::exp(-v));
    case Activation::kSigmoid: return 1.0f / (1.0f + std::exp(-v));
  }
  return v;
}

}  // namespace spiralkit

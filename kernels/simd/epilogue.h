// Bias is the accumulator's start; ReLU/ReLU6 run on vectors, the transcendental activations
// (GELU, SiLU, sigmoid) on the stored values with the scalar definitions torch uses.
#pragma once
#include <cstdint>

#include "spiralkit_kernels/activation.h"

namespace {
template <class V>
inline typename V::T vec_activation(typename V::T v, spiralkit::Activation act) {
  if (act == spiralkit::Activation::kRelu) return V::max(v, V::zero());
  if (act == spiralkit::Activation::kRelu6) return V::min(V::max(v, V::zero()), V::set1(6.0f));
  return v;
}
inline bool is_vector_activation(spiralkit::Activation act) {
  return act == spiralkit::Activation::kNone || act == spiralkit::Activation::kRelu ||
         act == spiralkit::Activation::kRelu6;
}
inline void scalar_activation(float* y, int64_t n, spiralkit::Activation act) {
  if (is_vector_activation(act)) return;
  for (int64_t i = 0; i < n; ++i) y[i] = spiralkit::apply_activation(y[i], act);
}
}  // namespace

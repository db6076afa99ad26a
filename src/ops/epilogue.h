// What a Linear/Conv2d driver does after its kernel: the residual add and the activations the
// kernels' own epilogue does not vectorize (GELU, SiLU, sigmoid), applied to the block of y a
// thread just wrote, while it is still in cache.
#pragma once

#include <cstdint>

#include "config/kernel_registry.h"
#include "ops/planner.h"
#include "spiralkit_kernels/activation.h"
#include "spiralkit_kernels/unary.h"

namespace spiralkit {

struct Epilogue {
  const float* bias = nullptr;
  Activation act = Activation::kNone;
  const float* residual = nullptr;  // same layout as y, or null
  PlanChoice choice = PlanChoice::kAuto;  // sparse panels or dense fallback, when forced

  // ReLU/ReLU6 without a residual stay in the kernel; everything else runs after it.
  bool post() const {
    return residual || act == Activation::kGelu || act == Activation::kSilu || act == Activation::kSigmoid;
  }
  Activation kernel_act() const { return post() ? Activation::kNone : act; }

  // y[r * ld + c] for r < rows, c < cols: y = act(y + residual).
  void apply(float* y, int64_t ld, int64_t rows, int64_t cols) const {
    if (!post()) return;
    const VUnaryFn vunary = select_vunary()->fn;
    for (int64_t r = 0; r < rows; ++r) {
      float* row = y + r * ld;
      if (residual) {
        const float* res = residual + (row - base_);
        for (int64_t c = 0; c < cols; ++c) row[c] += res[c];
      }
      switch (act) {
        case Activation::kNone: break;
        case Activation::kRelu: vunary(static_cast<int>(UnaryOp::kRelu), row, row, cols, 0.0f, 0.0f); break;
        case Activation::kRelu6: vunary(static_cast<int>(UnaryOp::kClip), row, row, cols, 0.0f, 6.0f); break;
        case Activation::kGelu: vunary(static_cast<int>(UnaryOp::kGelu), row, row, cols, 0.0f, 0.0f); break;
        case Activation::kSilu: vunary(static_cast<int>(UnaryOp::kSilu), row, row, cols, 0.0f, 0.0f); break;
        case Activation::kSigmoid: vunary(static_cast<int>(UnaryOp::kSigmoid), row, row, cols, 0.0f, 0.0f); break;
      }
    }
  }

  // The output's base pointer: the residual is read at the same offset from its own base.
  float* base_ = nullptr;
};

}  // namespace spiralkit

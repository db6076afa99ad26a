// Elementwise unary operations of the f32-vunary family. Codes are part of the artifact format
// (the engine's Unary node stores them): append, never reorder.
#pragma once

namespace spiralkit {

enum class UnaryOp : int {
  kIdentity = 0, kRelu = 1, kClip = 2, kLeakyRelu = 3, kSigmoid = 4, kHardSigmoid = 5, kHardSwish = 6,
  kTanh = 7, kErf = 8, kGelu = 9, kSqrt = 10, kSilu = 11, kNeg = 12, kExp = 13, kGeluTanh = 14, kCount
};

}  // namespace spiralkit

// The engine's operators, one X-macro row each: X(enum name, name in messages and files).
// Numbers are part of the artifact format: append new rows, never reorder.
// Attribute layout per op (Node::ints / Node::floats) is documented beside each op's shape
// function in src/graph/shape_inference.cc.
#pragma once

#define SPIRALKIT_GRAPH_OPS(X)          \
  X(Conv2d, "Conv2d")                   \
  X(Linear, "Linear")                   \
  X(MatMul, "MatMul")                   \
  X(Binary, "Binary")                   \
  X(Unary, "Unary")                     \
  X(Softmax, "Softmax")                 \
  X(LayerNorm, "LayerNorm")             \
  X(BatchNorm, "BatchNorm")             \
  X(MaxPool, "MaxPool")                 \
  X(AvgPool, "AvgPool")                 \
  X(GlobalAvgPool, "GlobalAvgPool")     \
  X(Reshape, "Reshape")                 \
  X(Transpose, "Transpose")             \
  X(Concat, "Concat")                   \
  X(Split, "Split")                     \
  X(Slice, "Slice")                     \
  X(Gather, "Gather")                   \
  X(ReduceMean, "ReduceMean")           \
  X(Cast, "Cast")                       \
  X(Attention, "Attention")

namespace spiralkit {

enum class OpKind : int {
#define SPIRALKIT_OP_ENUM(e, s) k##e,
  SPIRALKIT_GRAPH_OPS(SPIRALKIT_OP_ENUM)
#undef SPIRALKIT_OP_ENUM
  kCount
};

inline const char* op_name(OpKind k) {
  switch (k) {
#define SPIRALKIT_OP_NAME(e, s) \
  case OpKind::k##e:            \
    return s;
    SPIRALKIT_GRAPH_OPS(SPIRALKIT_OP_NAME)
#undef SPIRALKIT_OP_NAME
    default:
      return "?";
  }
}

// Binary kinds (elementwise, numpy broadcasting): Node::ints[0]. Unary nodes store a
// spiralkit::UnaryOp (spiralkit_kernels/unary.h).
enum class BinaryKind : int { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kPow = 4, kCount };

}  // namespace spiralkit

// Shape inference for one batch size: every value's shape and dtype from the graph inputs'
// shapes (dim 0 = batch) and the node attributes. It is the graph's validator too: an attribute
// out of range, a mismatched shape or a wrong dtype fails here, before anything runs.
#pragma once

#include <vector>

#include "graph/graph.h"

namespace spiralkit {

struct ShapeTable {
  std::vector<Shape> shapes;  // per value
  std::vector<DType> dtypes;
};

Status infer_shapes(const Graph& g, int64_t batch, ShapeTable* out);

// Normalises an axis in [-rank, rank) to [0, rank); false when out of range.
bool normalize_axis(int64_t axis, int64_t rank, int64_t* out);

// numpy broadcasting of a and b; false when incompatible.
bool broadcast_shapes(const Shape& a, const Shape& b, Shape* out);

// ONNX Slice: clamped start and the element count along a dim of size n (step != 0).
void slice_range(int64_t n, int64_t start, int64_t end, int64_t step, int64_t* first, int64_t* count);

// Output side of a pooling/conv window along one dim.
int64_t window_out(int64_t in, int64_t k, int64_t stride, int64_t pad_begin, int64_t pad_end, int64_t dil, bool ceil);

}  // namespace spiralkit

#include "graph/shape_inference.h"

#include <algorithm>
#include <string>

#include "ops/planner.h"
#include "spiralkit_kernels/unary.h"

namespace spiralkit {

bool normalize_axis(int64_t axis, int64_t rank, int64_t* out) {
  if (axis < -rank || axis >= rank) return false;
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

bool broadcast_shapes(const Shape& a, const Shape& b, Shape* out) {
  const size_t r = std::max(a.size(), b.size());
  Shape s(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    s[i] = da == 1 ? db : da;
  }
  *out = s;
  return true;
}

void slice_range(int64_t n, int64_t start, int64_t end, int64_t step, int64_t* first, int64_t* count) {
  auto clamp = [&](int64_t v, int64_t lo, int64_t hi) { return std::min(std::max(v, lo), hi); };
  if (start < 0) start += n;
  if (end < 0) end += n;
  if (step > 0) {
    start = clamp(start, 0, n);
    end = clamp(end, 0, n);
    *count = end > start ? (end - start + step - 1) / step : 0;
  } else {
    start = clamp(start, 0, n - 1);
    end = clamp(end, -1, n - 1);
    *count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
  }
  *first = *count > 0 ? start : 0;
}

int64_t window_out(int64_t in, int64_t k, int64_t stride, int64_t pb, int64_t pe, int64_t dil, bool ceil) {
  const int64_t span = in + pb + pe - dil * (k - 1) - 1;
  if (span < 0) return 0;
  int64_t out = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
  // ceil_mode: the last window must start inside the input or the left padding (ONNX / torch).
  if (ceil && (out - 1) * stride >= in + pb) --out;
  return out;
}

namespace {

struct Ctx {
  const Graph& g;
  const Node& n;
  ShapeTable& t;
  Status fail(const std::string& m) const {
    return Status::InvalidArgument(std::string(op_name(n.op)) + " node '" + n.name + "': " + m);
  }
  bool has(size_t i) const { return i < n.inputs.size() && n.inputs[i] >= 0; }
  const Shape& in(size_t i) const { return t.shapes[n.inputs[i]]; }
  DType dt(size_t i) const { return t.dtypes[n.inputs[i]]; }
  void set(size_t i, Shape s, DType d = DType::kFloat32) const {
    t.shapes[n.outputs[i]] = std::move(s);
    t.dtypes[n.outputs[i]] = d;
  }
  Status inputs(size_t lo, size_t hi) const {
    if (n.inputs.size() < lo || n.inputs.size() > hi)
      return fail("expected " + std::to_string(lo) + ".." + std::to_string(hi) + " inputs, got " +
                  std::to_string(n.inputs.size()));
    for (size_t i = 0; i < lo; ++i)
      if (n.inputs[i] < 0) return fail("input " + std::to_string(i) + " is required");
    return Status::Ok();
  }
  Status outputs(size_t k) const {
    return n.outputs.size() == k ? Status::Ok() : fail("expected " + std::to_string(k) + " outputs");
  }
  Status ints(size_t k) const {
    return n.ints.size() == k ? Status::Ok()
                              : fail("expected " + std::to_string(k) + " integer attributes, got " +
                                     std::to_string(n.ints.size()));
  }
  Status float_input(size_t i) const {
    return dt(i) == DType::kFloat32 ? Status::Ok() : fail("input " + std::to_string(i) + ": expected float32");
  }
  Status const_input(size_t i) const {
    return g.constant_of(n.inputs[i]) ? Status::Ok() : fail("input " + std::to_string(i) + " must be a constant");
  }
  Status vector_of(size_t i, int64_t len) const {  // a constant float vector of `len` values
    SPIRALKIT_RETURN_IF_ERROR(const_input(i));
    SPIRALKIT_RETURN_IF_ERROR(float_input(i));
    int64_t numel = 0;
    checked_numel(in(i), &numel);
    if (numel != len) return fail("input " + std::to_string(i) + ": expected " + std::to_string(len) + " values");
    return Status::Ok();
  }
};

bool valid_activation(int64_t a) { return a >= 0 && a <= 5; }

// Conv2d: inputs [x NCHW, bias?, residual?]; ints [kh, kw, sh, sw, pad_t, pad_l, pad_b, pad_r,
// dil_h, dil_w, groups, activation, kernel choice (0 auto, 1 dense, 2 sparse, 3 fp32)]; weight = the packed
// C_out x (C_in/groups*kh*kw) matrix.
Status conv2d(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 3));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.ints(13));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(0));
  if (c.n.weight < 0) return c.fail("needs a weight");
  if (!valid_kernel_choice(c.n.ints[12])) return c.fail("unknown kernel choice");
  const Shape& x = c.in(0);
  if (x.size() != 4) return c.fail("x: expected NCHW, got " + shape_str(x));
  const auto& a = c.n.ints;
  for (int i = 0; i < 4; ++i)
    if (a[i] < 1 || a[i] > 4096) return c.fail("kernel and stride must be in 1..4096");
  for (int i = 4; i < 8; ++i)
    if (a[i] < 0 || a[i] > 4096) return c.fail("pads must be in 0..4096");
  if (a[8] < 1 || a[9] < 1 || a[8] > 4096 || a[9] > 4096) return c.fail("dilation must be in 1..4096");
  if (a[10] < 1 || x[1] % a[10] != 0) return c.fail("groups " + std::to_string(a[10]) + " do not divide C_in");
  if (!valid_activation(a[11])) return c.fail("unknown activation");
  const PackedWeight& w = *c.g.weights[c.n.weight].packed;
  const int64_t cout = w.rows;
  if (cout % a[10] != 0) return c.fail("groups do not divide C_out");
  if (w.cols != x[1] / a[10] * a[0] * a[1])
    return c.fail("weight has " + std::to_string(w.cols) + " columns, x " + shape_str(x) + " needs " +
                  std::to_string(x[1] / a[10] * a[0] * a[1]));
  const int64_t oh = window_out(x[2], a[0], a[2], a[4], a[6], a[8], false);
  const int64_t ow = window_out(x[3], a[1], a[3], a[5], a[7], a[9], false);
  if (oh < 1 || ow < 1) return c.fail("input " + shape_str(x) + " is smaller than the kernel");
  Shape y = {x[0], cout, oh, ow};
  if (c.has(1)) SPIRALKIT_RETURN_IF_ERROR(c.vector_of(1, cout));
  if (c.has(2) && (c.in(2) != y || c.dt(2) != DType::kFloat32)) return c.fail("residual must be " + shape_str(y));
  c.set(0, y);
  return Status::Ok();
}

// Linear: inputs [x [..., K], bias?, residual?]; ints [activation, kernel choice];
// y = act(x W^T + b (+ residual)).
Status linear(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 3));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.ints(2));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(0));
  if (c.n.weight < 0) return c.fail("needs a weight");
  if (!valid_activation(c.n.ints[0])) return c.fail("unknown activation");
  if (!valid_kernel_choice(c.n.ints[1])) return c.fail("unknown kernel choice");
  const PackedWeight& w = *c.g.weights[c.n.weight].packed;
  Shape y = c.in(0);
  if (y.empty() || y.back() != w.cols)
    return c.fail("x " + shape_str(y) + ": last dim must be " + std::to_string(w.cols));
  y.back() = w.rows;
  if (c.has(1)) SPIRALKIT_RETURN_IF_ERROR(c.vector_of(1, w.rows));
  if (c.has(2) && (c.in(2) != y || c.dt(2) != DType::kFloat32)) return c.fail("residual must be " + shape_str(y));
  c.set(0, y);
  return Status::Ok();
}

// MatMul: inputs [a [..., M, K], b [..., K, N]] (rank >= 2, batch dims broadcast); ints [].
Status matmul(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(2, 2));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.ints(0));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(0));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(1));
  const Shape &a = c.in(0), &b = c.in(1);
  if (a.size() < 2 || b.size() < 2) return c.fail("inputs must have rank >= 2");
  if (a.back() != b[b.size() - 2]) return c.fail("inner dims differ: " + shape_str(a) + " x " + shape_str(b));
  Shape ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2), y;
  if (!broadcast_shapes(ba, bb, &y)) return c.fail("batch dims do not broadcast");
  y.push_back(a[a.size() - 2]);
  y.push_back(b.back());
  c.set(0, y);
  return Status::Ok();
}

// Binary: inputs [a, b] float32, numpy broadcasting; ints [BinaryKind].
Status binary(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(2, 2));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.ints(1));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(0));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(1));
  if (c.n.ints[0] < 0 || c.n.ints[0] >= static_cast<int64_t>(BinaryKind::kCount)) return c.fail("unknown kind");
  Shape y;
  if (!broadcast_shapes(c.in(0), c.in(1), &y))
    return c.fail("shapes " + shape_str(c.in(0)) + " and " + shape_str(c.in(1)) + " do not broadcast");
  if (y.size() > GraphBuilder::kMaxRank) return c.fail("rank too large");
  c.set(0, y);
  return Status::Ok();
}

// Unary: inputs [x]; ints [UnaryKind]; floats [p0, p1] (Clip min/max, LeakyRelu alpha, HardSigmoid alpha/beta).
Status unary(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 1));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.ints(1));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(0));
  if (c.n.ints[0] < 0 || c.n.ints[0] >= static_cast<int64_t>(UnaryOp::kCount)) return c.fail("unknown kind");
  if (c.n.floats.size() != 2) return c.fail("expected 2 float attributes");
  c.set(0, c.in(0));
  return Status::Ok();
}

// Softmax: inputs [x]; ints [axis].
Status softmax(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 1));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.ints(1));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(0));
  int64_t axis = 0;
  if (!normalize_axis(c.n.ints[0], c.in(0).size(), &axis)) return c.fail("axis out of range");
  c.set(0, c.in(0));
  return Status::Ok();
}

// LayerNorm: inputs [x, scale, bias?] (constants over dims [axis, rank)); ints [axis]; floats [eps].
Status layernorm(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(2, 3));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.ints(1));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(0));
  if (c.n.floats.size() != 1) return c.fail("expected eps");
  const Shape& x = c.in(0);
  int64_t axis = 0;
  if (!normalize_axis(c.n.ints[0], x.size(), &axis)) return c.fail("axis out of range");
  int64_t inner = 1;
  for (size_t i = axis; i < x.size(); ++i) inner *= x[i];
  SPIRALKIT_RETURN_IF_ERROR(c.vector_of(1, inner));
  if (c.has(2)) SPIRALKIT_RETURN_IF_ERROR(c.vector_of(2, inner));
  c.set(0, x);
  return Status::Ok();
}

// BatchNorm (inference): inputs [x [N, C, ...], scale, bias, mean, var] (constants); floats [eps].
Status batchnorm(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(5, 5));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.ints(0));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(0));
  if (c.n.floats.size() != 1) return c.fail("expected eps");
  const Shape& x = c.in(0);
  if (x.size() < 2) return c.fail("x: expected rank >= 2");
  for (size_t i = 1; i < 5; ++i) SPIRALKIT_RETURN_IF_ERROR(c.vector_of(i, x[1]));
  c.set(0, x);
  return Status::Ok();
}

// MaxPool / AvgPool (NCHW): ints [kh, kw, sh, sw, pad_t, pad_l, pad_b, pad_r, dil_h, dil_w, ceil_mode,
// count_include_pad].
Status pool(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 1));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.ints(12));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(0));
  const Shape& x = c.in(0);
  if (x.size() != 4) return c.fail("x: expected NCHW");
  const auto& a = c.n.ints;
  for (int i = 0; i < 4; ++i)
    if (a[i] < 1 || a[i] > 4096) return c.fail("kernel and stride must be in 1..4096");
  for (int i = 4; i < 8; ++i)
    if (a[i] < 0 || a[i] >= (i % 2 == 0 ? a[0] : a[1]) + 1) return c.fail("pads must be in 0..kernel");
  if (a[8] < 1 || a[9] < 1 || a[8] > 4096 || a[9] > 4096) return c.fail("dilation must be in 1..4096");
  const int64_t oh = window_out(x[2], a[0], a[2], a[4], a[6], a[8], a[10] != 0);
  const int64_t ow = window_out(x[3], a[1], a[3], a[5], a[7], a[9], a[10] != 0);
  if (oh < 1 || ow < 1) return c.fail("input " + shape_str(x) + " is smaller than the window");
  c.set(0, {x[0], x[1], oh, ow});
  return Status::Ok();
}

Status global_avg_pool(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 1));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(0));
  Shape y = c.in(0);
  if (y.size() < 3) return c.fail("x: expected rank >= 3");
  for (size_t i = 2; i < y.size(); ++i) y[i] = 1;
  c.set(0, y);
  return Status::Ok();
}

// Reshape: inputs [x]; ints = target (ONNX: 0 copies the input dim, one -1 is inferred).
Status reshape(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 1));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  const Shape& x = c.in(0);
  if (c.n.ints.size() > GraphBuilder::kMaxRank) return c.fail("target rank too large");
  int64_t numel = 0;
  checked_numel(x, &numel);
  Shape y(c.n.ints.size());
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < y.size(); ++i) {
    const int64_t d = c.n.ints[i];
    if (d == -1) {
      if (infer >= 0) return c.fail("more than one -1 in the target");
      infer = static_cast<int>(i);
      continue;
    }
    if (d == 0 && i >= x.size()) return c.fail("0 in the target beyond the input rank");
    y[i] = d == 0 ? x[i] : d;
    if (y[i] < 0) return c.fail("negative target dim");
    if (y[i] != 0 && known > (int64_t(1) << 62) / y[i]) return c.fail("target too large");
    known *= y[i];
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0) return c.fail("cannot infer -1 for " + shape_str(x));
    y[infer] = numel / known;
  } else if (known != numel) {
    return c.fail("target " + shape_str(y) + " has a different size than " + shape_str(x));
  }
  c.set(0, y, c.dt(0));
  return Status::Ok();
}

// Transpose: inputs [x]; ints = perm.
Status transpose(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 1));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  const Shape& x = c.in(0);
  if (x.empty()) return c.fail("x: expected rank >= 1");
  if (c.n.ints.size() != x.size()) return c.fail("perm length differs from the rank");
  std::vector<bool> used(x.size(), false);
  Shape y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t p = c.n.ints[i];
    if (p < 0 || p >= static_cast<int64_t>(x.size()) || used[p]) return c.fail("perm is not a permutation");
    used[p] = true;
    y[i] = x[p];
  }
  c.set(0, y, c.dt(0));
  return Status::Ok();
}

// Concat: inputs [x0, x1, ...] same dtype; ints [axis].
Status concat(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 4096));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.ints(1));
  Shape y = c.in(0);
  int64_t axis = 0;
  if (!normalize_axis(c.n.ints[0], y.size(), &axis)) return c.fail("axis out of range");
  for (size_t i = 1; i < c.n.inputs.size(); ++i) {
    if (!c.has(i)) return c.fail("missing input");
    const Shape& s = c.in(i);
    if (s.size() != y.size() || c.dt(i) != c.dt(0)) return c.fail("inputs differ in rank or dtype");
    for (size_t d = 0; d < s.size(); ++d)
      if (static_cast<int64_t>(d) != axis && s[d] != y[d]) return c.fail("inputs differ off the axis");
    y[axis] += s[axis];
  }
  c.set(0, y, c.dt(0));
  return Status::Ok();
}

// Split: inputs [x]; ints [axis, size_0, ..., size_{k-1}] (k outputs).
Status split(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 1));
  if (c.n.ints.size() != c.n.outputs.size() + 1) return c.fail("expected one size per output");
  const Shape& x = c.in(0);
  int64_t axis = 0;
  if (!normalize_axis(c.n.ints[0], x.size(), &axis)) return c.fail("axis out of range");
  int64_t total = 0;
  for (size_t i = 1; i < c.n.ints.size(); ++i) {
    if (c.n.ints[i] < 0 || c.n.ints[i] > x[axis]) return c.fail("bad split size");
    total += c.n.ints[i];
  }
  if (total != x[axis]) return c.fail("sizes do not add up to dim " + std::to_string(x[axis]));
  for (size_t i = 0; i < c.n.outputs.size(); ++i) {
    Shape y = x;
    y[axis] = c.n.ints[i + 1];
    c.set(i, y, c.dt(0));
  }
  return Status::Ok();
}

// Slice: inputs [x]; ints [axis, start, end, step]*; ONNX clamping.
Status slice(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 1));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  if (c.n.ints.size() % 4 != 0) return c.fail("expected (axis, start, end, step) groups");
  Shape y = c.in(0);
  if (y.empty()) return c.fail("x: expected rank >= 1");
  std::vector<bool> seen(y.size(), false);
  for (size_t i = 0; i < c.n.ints.size(); i += 4) {
    int64_t axis = 0, first = 0, count = 0;
    if (!normalize_axis(c.n.ints[i], y.size(), &axis) || seen[axis]) return c.fail("bad or repeated axis");
    seen[axis] = true;
    if (c.n.ints[i + 3] == 0) return c.fail("step 0");
    slice_range(y[axis], c.n.ints[i + 1], c.n.ints[i + 2], c.n.ints[i + 3], &first, &count);
    y[axis] = count;
  }
  c.set(0, y, c.dt(0));
  return Status::Ok();
}

// Gather: inputs [data, indices (int64)]; ints [axis]. Out-of-range indices fail at run time.
Status gather(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(2, 2));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.ints(1));
  if (c.dt(1) != DType::kInt64) return c.fail("indices must be int64");
  const Shape &x = c.in(0), &idx = c.in(1);
  int64_t axis = 0;
  if (!normalize_axis(c.n.ints[0], x.size(), &axis)) return c.fail("axis out of range");
  if (x[axis] == 0) return c.fail("gather from an empty axis");
  Shape y(x.begin(), x.begin() + axis);
  y.insert(y.end(), idx.begin(), idx.end());
  y.insert(y.end(), x.begin() + axis + 1, x.end());
  if (y.size() > GraphBuilder::kMaxRank) return c.fail("rank too large");
  c.set(0, y, c.dt(0));
  return Status::Ok();
}

// ReduceMean: inputs [x]; ints [keepdims, axis...] (at least one axis).
Status reduce_mean(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 1));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.float_input(0));
  if (c.n.ints.size() < 2) return c.fail("expected keepdims and at least one axis");
  const Shape& x = c.in(0);
  std::vector<bool> red(x.size(), false);
  for (size_t i = 1; i < c.n.ints.size(); ++i) {
    int64_t a = 0;
    if (!normalize_axis(c.n.ints[i], x.size(), &a) || red[a]) return c.fail("bad or repeated axis");
    red[a] = true;
  }
  Shape y;
  for (size_t d = 0; d < x.size(); ++d) {
    if (!red[d]) y.push_back(x[d]);
    else if (c.n.ints[0]) y.push_back(1);
  }
  c.set(0, y);
  return Status::Ok();
}

// Cast: inputs [x]; ints [to dtype].
Status cast(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(1, 1));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  SPIRALKIT_RETURN_IF_ERROR(c.ints(1));
  if (c.n.ints[0] != static_cast<int64_t>(DType::kFloat32) && c.n.ints[0] != static_cast<int64_t>(DType::kInt64))
    return c.fail("unknown target dtype");
  c.set(0, c.in(0), static_cast<DType>(c.n.ints[0]));
  return Status::Ok();
}

// Attention: inputs [q, k, v, mask?]; ints [] or [1]; floats [scale]; y = softmax(q k * scale + mask) v.
// ints []: q [..., S, D], k [..., D, T], v [..., T, E] -> y [..., S, E], mask broadcast to [..., S, T].
// ints [1] (heads interleaved, the layout before/after the exporter's head transposes):
// q [B, S, H, D], k [B, T, H, D], v [B, T, H, E] -> y [B, S, H, E], mask broadcast to [B, H, S, T].
Status attention(const Ctx& c) {
  SPIRALKIT_RETURN_IF_ERROR(c.inputs(3, 4));
  SPIRALKIT_RETURN_IF_ERROR(c.outputs(1));
  if (c.n.ints.size() > 1 || (c.n.ints.size() == 1 && c.n.ints[0] != 1)) return c.fail("bad layout attribute");
  if (c.n.floats.size() != 1) return c.fail("expected scale");
  for (size_t i = 0; i < 3; ++i) SPIRALKIT_RETURN_IF_ERROR(c.float_input(i));
  const Shape &q = c.in(0), &k = c.in(1), &v = c.in(2);
  Shape scores, y;
  if (c.n.ints.size() == 1) {
    if (q.size() != 4 || k.size() != 4 || v.size() != 4) return c.fail("interleaved heads need 4-D q, k, v");
    if (q[0] != k[0] || q[0] != v[0] || q[2] != k[2] || q[2] != v[2] || q[3] != k[3] || k[1] != v[1])
      return c.fail("q, k, v shapes differ");
    scores = {q[0], q[2], q[1], k[1]};
    y = {q[0], q[1], q[2], v[3]};
  } else {
    if (q.size() < 2 || k.size() != q.size() || v.size() != q.size()) return c.fail("q, k, v must share a rank >= 2");
    const size_t r = q.size();
    for (size_t i = 0; i + 2 < r; ++i)
      if (q[i] != k[i] || q[i] != v[i]) return c.fail("q, k, v batch dims differ");
    if (q[r - 1] != k[r - 2] || k[r - 1] != v[r - 2]) return c.fail("q, k, v inner dims differ");
    scores.assign(q.begin(), q.end() - 1);
    scores.push_back(k[r - 1]);
    y.assign(q.begin(), q.end() - 1);
    y.push_back(v[r - 1]);
  }
  if (c.has(3)) {
    Shape b;
    SPIRALKIT_RETURN_IF_ERROR(c.float_input(3));
    if (!broadcast_shapes(scores, c.in(3), &b) || b != scores) return c.fail("mask does not broadcast to the scores");
  }
  c.set(0, y);
  return Status::Ok();
}

Status infer_node(const Ctx& c) {
  switch (c.n.op) {
    case OpKind::kConv2d: return conv2d(c);
    case OpKind::kLinear: return linear(c);
    case OpKind::kMatMul: return matmul(c);
    case OpKind::kBinary: return binary(c);
    case OpKind::kUnary: return unary(c);
    case OpKind::kSoftmax: return softmax(c);
    case OpKind::kLayerNorm: return layernorm(c);
    case OpKind::kBatchNorm: return batchnorm(c);
    case OpKind::kMaxPool:
    case OpKind::kAvgPool: return pool(c);
    case OpKind::kGlobalAvgPool: return global_avg_pool(c);
    case OpKind::kReshape: return reshape(c);
    case OpKind::kTranspose: return transpose(c);
    case OpKind::kConcat: return concat(c);
    case OpKind::kSplit: return split(c);
    case OpKind::kSlice: return slice(c);
    case OpKind::kGather: return gather(c);
    case OpKind::kReduceMean: return reduce_mean(c);
    case OpKind::kCast: return cast(c);
    case OpKind::kAttention: return attention(c);
    default: return c.fail("unknown op");
  }
}

}  // namespace

Status infer_shapes(const Graph& g, int64_t batch, ShapeTable* out) {
  if (batch < 0 || batch > (int64_t(1) << 31)) return Status::InvalidArgument("batch out of range");
  ShapeTable& t = *out;
  t.shapes.assign(g.values.size(), Shape());
  t.dtypes.assign(g.values.size(), DType::kFloat32);
  std::vector<bool> defined(g.values.size(), false);
  for (size_t i = 0; i < g.values.size(); ++i) {
    const Value& v = g.values[i];
    if (v.constant >= 0 || v.is_input) {
      t.shapes[i] = v.dims;
      if (v.is_input && v.batched) t.shapes[i][0] = batch;
      t.dtypes[i] = v.dtype;
      defined[i] = true;
    }
  }
  for (const Node& n : g.nodes) {
    for (int v : n.inputs)
      if (v >= 0 && !defined[v])
        return Status::InvalidArgument("node '" + n.name + "': input '" + g.values[v].name + "' is used before it is computed");
    for (int v : n.outputs)
      if (defined[v]) return Status::InvalidArgument("node '" + n.name + "': output '" + g.values[v].name + "' is computed twice");
    SPIRALKIT_RETURN_IF_ERROR(infer_node(Ctx{g, n, t}));
    for (int v : n.outputs) {
      int64_t numel = 0;
      if (!checked_numel(t.shapes[v], &numel) || numel > (int64_t(1) << 40))
        return Status::InvalidArgument("node '" + n.name + "': output shape " + shape_str(t.shapes[v]) + " too large");
      defined[v] = true;
    }
  }
  for (int v : g.outputs)
    if (!defined[v]) return Status::InvalidArgument("output '" + g.values[v].name + "' is never computed");
  return Status::Ok();
}

}  // namespace spiralkit

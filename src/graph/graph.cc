#include "graph/graph.h"

#include <cmath>
#include <unordered_set>

#include "graph/shape_inference.h"

namespace spiralkit {

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

bool checked_numel(const Shape& s, int64_t* out) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) return false;
    if (d != 0 && n > (int64_t(1) << 62) / d) return false;
    n *= d;
  }
  *out = n;
  return true;
}

Status GraphBuilder::add_value(const std::string& name, Value v, int* id) {
  if (name.empty() || name.size() > 4096) return Status::InvalidArgument("value name: expected 1..4096 characters");
  if (g_.values.size() >= (size_t(1) << 24)) return Status::InvalidArgument("graph: too many values");
  v.name = name;
  *id = static_cast<int>(g_.values.size());
  g_.values.push_back(std::move(v));
  return Status::Ok();
}

Status GraphBuilder::add_input(const std::string& name, DType dtype, const Shape& dims, int* id, bool batched) {
  if (dtype != DType::kFloat32 && dtype != DType::kInt64)
    return Status::InvalidArgument("input '" + name + "': unknown dtype");
  if (dims.empty() || dims.size() > kMaxRank)
    return Status::InvalidArgument("input '" + name + "': expected rank 1.." + std::to_string(kMaxRank));
  for (size_t i = batched ? 1 : 0; i < dims.size(); ++i)
    if (dims[i] < 0 || dims[i] > (int64_t(1) << 31))
      return Status::InvalidArgument("input '" + name + "': dim " + std::to_string(i) + " out of range");
  Value v;
  v.dtype = dtype;
  v.is_input = true;
  v.batched = batched;
  v.dims = dims;
  SPIRALKIT_RETURN_IF_ERROR(add_value(name, v, id));
  g_.inputs.push_back(*id);
  return Status::Ok();
}

Status GraphBuilder::add_constant(const std::string& name, ConstTensor t, int* id) {
  int64_t n = 0;
  if (t.dims.size() > kMaxRank || !checked_numel(t.dims, &n))
    return Status::InvalidArgument("constant '" + name + "': bad shape " + shape_str(t.dims));
  const size_t have = t.dtype == DType::kFloat32 ? t.f32.size() : (t.dtype == DType::kInt64 ? t.i64.size() : 0);
  if (t.dtype != DType::kFloat32 && t.dtype != DType::kInt64)
    return Status::InvalidArgument("constant '" + name + "': unknown dtype");
  if (static_cast<int64_t>(have) != n)
    return Status::InvalidArgument("constant '" + name + "': " + std::to_string(have) + " values for shape " +
                                   shape_str(t.dims));
  Value v;
  v.dtype = t.dtype;
  v.dims = t.dims;
  v.constant = static_cast<int>(g_.constants.size());
  g_.constants.push_back(std::move(t));
  return add_value(name, v, id);
}

Status GraphBuilder::add_weight(std::shared_ptr<const PackedWeight> packed, const Shape& shape, int* id) {
  if (!packed) return Status::InvalidArgument("weight: null");
  if (shape.size() != 2 && shape.size() != 4) return Status::InvalidArgument("weight: expected a 2-D or 4-D shape");
  int64_t n = 0;
  if (!checked_numel(shape, &n) || shape[0] != packed->rows || n != packed->rows * packed->cols)
    return Status::InvalidArgument("weight: shape " + shape_str(shape) + " does not match the packed " +
                                   std::to_string(packed->rows) + "x" + std::to_string(packed->cols) + " matrix");
  *id = static_cast<int>(g_.weights.size());
  g_.weights.push_back(Weight{std::move(packed), shape, nullptr});
  return Status::Ok();
}

Status GraphBuilder::add_node(OpKind op, const std::string& name, const std::vector<int>& inputs, int n_outputs,
                              std::vector<int64_t> ints, std::vector<float> floats, int weight,
                              std::vector<int>* outputs, const std::vector<std::string>& output_names) {
  const std::string where = "node '" + name + "'";
  if (static_cast<int>(op) < 0 || op >= OpKind::kCount) return Status::InvalidArgument(where + ": unknown op");
  if (inputs.size() > 4096 || n_outputs < 1 || n_outputs > 4096 || ints.size() > 4096 || floats.size() > 64)
    return Status::InvalidArgument(where + ": too many inputs, outputs or attributes");
  for (int v : inputs)
    if (v < -1 || v >= static_cast<int>(g_.values.size()))
      return Status::InvalidArgument(where + ": input id " + std::to_string(v) + " is not defined before it");
  if (weight < -1 || weight >= static_cast<int>(g_.weights.size()))
    return Status::InvalidArgument(where + ": weight id out of range");
  if (!output_names.empty() && output_names.size() != static_cast<size_t>(n_outputs))
    return Status::InvalidArgument(where + ": output names do not match the output count");
  Node node;
  node.op = op;
  node.name = name;
  node.inputs = inputs;
  node.ints = std::move(ints);
  node.floats = std::move(floats);
  node.weight = weight;
  outputs->clear();
  for (int i = 0; i < n_outputs; ++i) {
    int id = 0;
    SPIRALKIT_RETURN_IF_ERROR(add_value(output_names.empty() ? name + ":" + std::to_string(i) : output_names[i], Value{}, &id));
    node.outputs.push_back(id);
    outputs->push_back(id);
  }
  g_.nodes.push_back(std::move(node));
  return Status::Ok();
}

Status GraphBuilder::mark_output(int value) {
  if (value < 0 || value >= static_cast<int>(g_.values.size()))
    return Status::InvalidArgument("output: value id out of range");
  const Value& v = g_.values[value];
  if (v.constant >= 0 || v.is_input)
    return Status::Unsupported("output '" + v.name + "': a graph output must be computed by a node");
  for (int o : g_.outputs)
    if (o == value) return Status::InvalidArgument("output '" + v.name + "': listed twice");
  g_.outputs.push_back(value);
  return Status::Ok();
}

Status GraphBuilder::set_uint8_params(int value, float scale, int32_t zero_point) {
  if (value < 0 || value >= static_cast<int>(g_.values.size()))
    return Status::InvalidArgument("uint8 parameters: value id out of range");
  Value& v = g_.values[value];
  if (v.constant >= 0 || v.is_input)
    return Status::InvalidArgument("uint8 parameters of '" + v.name + "': only a node's output takes them");
  if (!std::isfinite(scale) || !(scale > 0.0f) || zero_point < 0 || zero_point > 255)
    return Status::InvalidArgument("uint8 parameters of '" + v.name + "': scale must be finite and > 0, zero point in [0, 255]");
  v.uint8_scale = scale;
  v.uint8_zero_point = zero_point;
  return Status::Ok();
}

Status GraphBuilder::finish(int64_t batch, Graph* out) {
  if (g_.inputs.empty()) return Status::InvalidArgument("graph: no inputs");
  if (g_.outputs.empty()) return Status::InvalidArgument("graph: no outputs");
  std::unordered_set<std::string> seen;
  for (const Value& v : g_.values)
    if (!seen.insert(v.name).second) return Status::InvalidArgument("graph: value name '" + v.name + "' used twice");
  ShapeTable table;
  SPIRALKIT_RETURN_IF_ERROR(infer_shapes(g_, batch, &table));
  *out = std::move(g_);
  g_ = Graph();
  return Status::Ok();
}

}  // namespace spiralkit

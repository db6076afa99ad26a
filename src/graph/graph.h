// The engine's graph: values (graph inputs, constants, intermediates), packed weights and a node
// list in execution order. Python builds it through GraphBuilder calls (csrc/engine.cc); the
// artifact reader builds it through the same calls, so a file is checked exactly like a compile.
// Shapes are not stored for intermediates: they are inferred per batch size (shape_inference.h),
// which is also where every attribute is validated.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "graph/op_list.h"
#include "sparse/packed_weight.h"

namespace spiralkit {

enum class DType : int { kFloat32 = 0, kInt64 = 1, kCount };
inline const char* dtype_name(DType d) { return d == DType::kFloat32 ? "float32" : (d == DType::kInt64 ? "int64" : "?"); }
inline int64_t element_size(DType d) { return d == DType::kInt64 ? 8 : 4; }

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
// Product of dims; false on overflow past 2^62 or a negative dim.
bool checked_numel(const Shape& s, int64_t* out);

struct ConstTensor {
  DType dtype = DType::kFloat32;
  Shape dims;
  std::vector<float> f32;    // dtype float32
  std::vector<int64_t> i64;  // dtype int64
};

struct Value {
  std::string name;
  DType dtype = DType::kFloat32;
  int constant = -1;  // index into Graph::constants, or -1
  bool is_input = false;
  bool batched = true;  // graph inputs: dims[0] is the batch (else fixed)
  Shape dims;  // graph inputs: every dim but dims[0] (the batch) is fixed; constants: their dims
  // Calibrated uint8 parameters of an intermediate (scale 0: none). An int8 plan uses them for a
  // value it would otherwise keep fp32 only because no int8 layer reads it as input 0: a
  // projection shortcut read as a residual (engine/plan_i8.h, uint8_values).
  float uint8_scale = 0.0f;
  int32_t uint8_zero_point = 0;
};

struct QuantizedWeight;  // graph/quantized_weight.h

// A packed weight and the layer shape it came from (2-D linear, 4-D conv). `quant` (int8 layers
// only): the int8 weight the node runs; `packed` is then its dequantized fp32 twin.
struct Weight {
  std::shared_ptr<const PackedWeight> packed;
  Shape shape;
  std::shared_ptr<const QuantizedWeight> quant = nullptr;
};

struct Node {
  OpKind op = OpKind::kCount;
  std::string name;
  std::vector<int> inputs;  // value ids; -1 marks an absent optional input
  std::vector<int> outputs;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  int weight = -1;  // Conv2d / Linear: index into Graph::weights
};

struct Graph {
  std::vector<Value> values;
  std::vector<ConstTensor> constants;
  std::vector<Weight> weights;
  std::vector<Node> nodes;
  std::vector<int> inputs, outputs;

  const ConstTensor* constant_of(int value) const {
    return value >= 0 && values[value].constant >= 0 ? &constants[values[value].constant] : nullptr;
  }
};

// Appends to a Graph with structural checks (ids in range and defined before use, names unique,
// op kinds known, counts bounded). Shapes and attributes are checked by finish().
class GraphBuilder {
 public:
  static constexpr int kMaxRank = 8;
  Status add_input(const std::string& name, DType dtype, const Shape& dims, int* id, bool batched = true);
  Status add_constant(const std::string& name, ConstTensor tensor, int* id);
  Status add_weight(std::shared_ptr<const PackedWeight> packed, const Shape& shape, int* id);
  // An int8 weight with the quantization of its input activations (graph/quantized_weight.cc).
  Status add_quantized_weight(std::shared_ptr<const QuantizedWeight> quant, std::shared_ptr<const PackedWeight> packed,
                              const Shape& shape, int* id);
  // Creates the node's n_outputs output values (named name:i unless names are given).
  Status add_node(OpKind op, const std::string& name, const std::vector<int>& inputs, int n_outputs,
                  std::vector<int64_t> ints, std::vector<float> floats, int weight, std::vector<int>* outputs,
                  const std::vector<std::string>& output_names = {});
  Status mark_output(int value);
  // Records value's calibrated uint8 parameters (Value::uint8_scale): a node's output, scale
  // finite and > 0, zero point in [0, 255].
  Status set_uint8_params(int value, float scale, int32_t zero_point);
  // Checks the whole graph at `batch` (shape inference) and hands it over.
  Status finish(int64_t batch, Graph* out);
  Graph& graph() { return g_; }

 private:
  Status add_value(const std::string& name, Value v, int* id);
  Graph g_;
  std::vector<std::string> names_;
};

}  // namespace spiralkit

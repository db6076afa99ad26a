// pybind11 bindings of the engine: GraphBuilder calls from the Python ONNX importer, and Engine
// runs on numpy arrays. Argument conversion only; every check that protects memory is in the core.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "csrc/status_to_python.h"
#include "engine/artifact.h"
#include "engine/engine.h"
#include "graph/passes/passes.h"
#include "graph/quantized_weight.h"
#include "graph/shape_inference.h"
#include "sparse/packed_weight.h"

namespace py = pybind11;
using spiralkit::check;
using spiralkit::Status;

namespace {

struct PyEngine {
  std::unique_ptr<spiralkit::Engine> engine;
  int64_t example_batch = 1;
};

spiralkit::OpKind op_from_name(const std::string& name) {
#define SPIRALKIT_OP_LOOKUP(e, s) \
  if (name == s) return spiralkit::OpKind::k##e;
  SPIRALKIT_GRAPH_OPS(SPIRALKIT_OP_LOOKUP)
#undef SPIRALKIT_OP_LOOKUP
  check(Status::InvalidArgument("op: unknown engine op '" + name + "'"));
  return spiralkit::OpKind::kCount;
}

spiralkit::DType dtype_of(const py::array& a, const std::string& what) {
  if (a.dtype().is(py::dtype::of<float>())) return spiralkit::DType::kFloat32;
  if (a.dtype().is(py::dtype::of<int64_t>())) return spiralkit::DType::kInt64;
  check(Status::InvalidArgument(what + ": expected float32 or int64, got " + std::string(py::str(a.dtype()))));
  return spiralkit::DType::kFloat32;
}

py::array empty_array(spiralkit::DType d, const spiralkit::Shape& s) {
  std::vector<py::ssize_t> dims(s.begin(), s.end());
  if (d == spiralkit::DType::kInt64) return py::array_t<int64_t>(dims);
  return py::array_t<float>(dims);
}

py::list run(const PyEngine& pe, const std::vector<py::array>& inputs, std::vector<double>* node_seconds = nullptr) {
  const spiralkit::Engine& e = *pe.engine;
  const spiralkit::Graph& g = e.graph();
  if (inputs.size() != g.inputs.size())
    check(Status::InvalidArgument("inputs: expected " + std::to_string(g.inputs.size()) + " arrays, got " +
                                  std::to_string(inputs.size())));
  int64_t batch = -1;
  std::vector<const void*> ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const spiralkit::Value& v = g.values[g.inputs[i]];
    const py::array& a = inputs[i];
    const std::string what = "input '" + v.name + "'";
    if (dtype_of(a, what) != v.dtype)
      check(Status::InvalidArgument(what + ": expected " + spiralkit::dtype_name(v.dtype) + ", got " +
                                    std::string(py::str(a.dtype()))));
    if (!(a.flags() & py::array::c_style)) check(Status::InvalidArgument(what + ": expected a C-contiguous array"));
    if (static_cast<size_t>(a.ndim()) != v.dims.size())
      check(Status::InvalidArgument(what + ": expected " + std::to_string(v.dims.size()) + "-D, got " +
                                    std::to_string(a.ndim()) + "-D"));
    for (size_t d = v.batched ? 1 : 0; d < v.dims.size(); ++d)
      if (a.shape(d) != v.dims[d]) {
        spiralkit::Shape got(a.shape(), a.shape() + a.ndim());
        spiralkit::Shape want = v.dims;
        std::string expect = v.batched ? "[batch" + (want.size() > 1 ? spiralkit::shape_str(spiralkit::Shape(want.begin() + 1, want.end())).replace(0, 1, ", ") : std::string("]"))
                                       : spiralkit::shape_str(want);
        check(Status::InvalidArgument(what + ": expected shape " + expect + ", got " + spiralkit::shape_str(got) +
                                      (v.batched ? " (only the leading batch dim may change)" : "")));
      }
    if (v.batched) {
      if (batch >= 0 && a.shape(0) != batch)
        check(Status::InvalidArgument(what + ": batch " + std::to_string(a.shape(0)) + " differs from the other inputs' " +
                                      std::to_string(batch)));
      batch = a.shape(0);
    }
    ptrs.push_back(a.data());
  }
  if (batch < 0) batch = pe.example_batch;  // no batched input: the graph is fully static
  std::shared_ptr<const spiralkit::Instance> inst;
  check(e.instance(batch, &inst));
  py::list outs;
  std::vector<void*> out_ptrs;
  for (int v : g.outputs) {
    py::array a = empty_array(inst->shapes.dtypes[v], inst->shapes.shapes[v]);
    out_ptrs.push_back(a.mutable_data());
    outs.append(a);
  }
  Status st;
  {
    py::gil_scoped_release release;
    st = e.run(*inst, ptrs, out_ptrs, node_seconds);
  }
  check(st);
  return outs;
}

py::list layers(const PyEngine& pe, int64_t batch) {
  const spiralkit::Engine& e = *pe.engine;
  std::shared_ptr<const spiralkit::Instance> inst;
  check(e.instance(batch, &inst));
  const spiralkit::Graph& g = e.graph();
  py::list out;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const spiralkit::Node& n = g.nodes[i];
    py::dict d;
    d["name"] = n.name;
    d["op"] = spiralkit::op_name(n.op);
    d["output_shape"] = inst->shapes.shapes[n.outputs[0]];
    d["kernel"] = inst->nodes[i].kernel;
    if (inst->nodes[i].fused_head >= 0) d["fused_into"] = g.nodes[inst->nodes[i].fused_head].name;
    if (n.weight >= 0) {
      const spiralkit::PackedWeight& w = *g.weights[n.weight].packed;
      d["pattern"] = w.pattern.name();
      d["sparsity"] = w.rows * w.cols ? 1.0 - double(w.nnz) / double(w.rows * w.cols) : 0.0;
      d["nbytes"] = w.nbytes();
      d["weight_shape"] = g.weights[n.weight].shape;
      d["activation"] = n.op == spiralkit::OpKind::kConv2d ? n.ints[11] : n.ints[0];
      d["residual"] = n.inputs.size() > 2 && n.inputs[2] >= 0;
      d["choice"] = n.op == spiralkit::OpKind::kConv2d ? n.ints[12] : n.ints[1];
    }
    out.append(d);
  }
  return out;
}

std::unique_ptr<PyEngine> make_engine(spiralkit::Graph g, int64_t batch) {
  auto pe = std::make_unique<PyEngine>();
  pe->example_batch = batch;
  Status st;
  {
    py::gil_scoped_release release;
    st = spiralkit::Engine::create(std::move(g), batch, &pe->engine);
  }
  check(st);
  return pe;
}

}  // namespace

void bind_engine(py::module_& m) {
  py::class_<spiralkit::GraphBuilder>(m, "GraphBuilder")
      .def(py::init<>())
      .def("add_input",
           [](spiralkit::GraphBuilder& b, const std::string& name, int dtype, const std::vector<int64_t>& dims,
              bool batched) {
             int id = 0;
             if (dtype < 0 || dtype >= static_cast<int>(spiralkit::DType::kCount))
               check(Status::InvalidArgument("dtype: unknown code"));
             check(b.add_input(name, static_cast<spiralkit::DType>(dtype), dims, &id, batched));
             return id;
           }, py::arg("name"), py::arg("dtype"), py::arg("dims"), py::arg("batched") = true)
      .def("add_constant",
           [](spiralkit::GraphBuilder& b, const std::string& name, const py::array& a) {
             spiralkit::ConstTensor t;
             t.dtype = dtype_of(a, "constant '" + name + "'");
             t.dims.assign(a.shape(), a.shape() + a.ndim());
             if (t.dtype == spiralkit::DType::kFloat32) {
               auto c = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
               t.f32.assign(c.data(), c.data() + c.size());
             } else {
               auto c = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
               t.i64.assign(c.data(), c.data() + c.size());
             }
             int id = 0;
             check(b.add_constant(name, std::move(t), &id));
             return id;
           })
      .def("add_weight",
           [](spiralkit::GraphBuilder& b, std::shared_ptr<spiralkit::PackedWeight> w, const std::vector<int64_t>& shape) {
             int id = 0;
             check(b.add_weight(std::move(w), shape, &id));
             return id;
           })
      // An int8 layer's weight (a PackedWeightI8 from quantize_pack_i8 / pack_i8) and the
      // quantization of its input; the fp32 twin is derived here.
      .def("add_quantized_weight",
           [](spiralkit::GraphBuilder& b, std::shared_ptr<spiralkit::PackedWeightI8> w, float x_scale, int x_zero_point,
              const std::vector<int64_t>& shape) {
             std::shared_ptr<const spiralkit::QuantizedWeight> q;
             std::shared_ptr<const spiralkit::PackedWeight> twin;
             check(spiralkit::make_quantized_weight(std::move(w), {x_scale, x_zero_point}, &q, &twin));
             int id = 0;
             check(b.add_quantized_weight(std::move(q), std::move(twin), shape, &id));
             return id;
           })
      .def("add_node",
           [](spiralkit::GraphBuilder& b, const std::string& op, const std::string& name, const std::vector<int>& inputs,
              int n_outputs, std::vector<int64_t> ints, std::vector<float> floats, int weight,
              const std::vector<std::string>& output_names) {
             std::vector<int> outs;
             check(b.add_node(op_from_name(op), name, inputs, n_outputs, std::move(ints), std::move(floats), weight,
                              &outs, output_names));
             return outs;
           },
           py::arg("op"), py::arg("name"), py::arg("inputs"), py::arg("n_outputs") = 1,
           py::arg("ints") = std::vector<int64_t>{}, py::arg("floats") = std::vector<float>{}, py::arg("weight") = -1,
           py::arg("output_names") = std::vector<std::string>{})
      .def("mark_output", [](spiralkit::GraphBuilder& b, int v) { check(b.mark_output(v)); })
      .def("set_uint8_params", [](spiralkit::GraphBuilder& b, int v, float scale, int zero_point) {
        check(b.set_uint8_params(v, scale, zero_point));
      })
      // Shapes of every value so far at `batch` (None where not computed): the importer's view of
      // the graph it is building, so Python never re-implements shape inference.
      .def("shapes", [](spiralkit::GraphBuilder& b, int64_t batch) {
        spiralkit::ShapeTable t;
        check(spiralkit::infer_shapes(b.graph(), batch, &t));
        py::list out;
        for (size_t i = 0; i < t.shapes.size(); ++i) out.append(py::make_tuple(t.shapes[i], static_cast<int>(t.dtypes[i])));
        return out;
      })
      .def("build", [](spiralkit::GraphBuilder& b, int64_t batch, bool optimize) {
        spiralkit::Graph g;
        check(b.finish(batch, &g));
        if (optimize) {
          Status st;
          {
            py::gil_scoped_release release;
            st = spiralkit::run_passes(&g, batch);
          }
          check(st);
        } else {
          check(spiralkit::compact_graph(&g));
        }
        return make_engine(std::move(g), batch);
      }, py::arg("batch"), py::arg("optimize") = true);

  py::class_<PyEngine>(m, "Engine")
      .def("run", [](const PyEngine& pe, const std::vector<py::array>& inputs) { return run(pe, inputs); })
      // Runs `repeats` times; returns (outputs, per-node seconds summed over the runs).
      .def("profile", [](const PyEngine& pe, const std::vector<py::array>& inputs, int repeats) {
        std::vector<double> secs;
        py::list outs;
        for (int i = 0; i < repeats; ++i) outs = run(pe, inputs, &secs);
        return py::make_tuple(outs, secs);
      })
      .def("layers", &layers)
      .def_readonly("example_batch", &PyEngine::example_batch)
      .def("set_kernel_choices", [](PyEngine& pe, const std::vector<int>& c) { check(pe.engine->set_kernel_choices(c)); })
      .def("inputs", [](const PyEngine& pe) {
        py::list out;
        const auto& g = pe.engine->graph();
        for (int v : g.inputs)
          out.append(py::make_tuple(g.values[v].name, static_cast<int>(g.values[v].dtype), g.values[v].dims, g.values[v].batched));
        return out;
      })
      .def("outputs", [](const PyEngine& pe) {
        py::list out;
        const auto& g = pe.engine->graph();
        for (int v : g.outputs) out.append(g.values[v].name);
        return out;
      })
      .def("weight_bytes", [](const PyEngine& pe) {
        int64_t n = 0;
        for (const auto& w : pe.engine->graph().weights) n += w.packed->nbytes();
        return n;
      })
      .def("save", [](const PyEngine& pe, const std::string& path) {
        check(spiralkit::save_graph(pe.engine->graph(), pe.example_batch, path));
      });

  m.def("load_engine", [](const std::string& path) {
    spiralkit::Graph g;
    int64_t batch = 1;
    Status st;
    {
      py::gil_scoped_release release;
      st = spiralkit::load_graph(path, &g, &batch);
    }
    check(st);
    return make_engine(std::move(g), batch);
  });
  m.def("load_engine_bytes", [](const py::bytes& data) {
    std::string s = data;
    spiralkit::Graph g;
    int64_t batch = 1;
    check(spiralkit::deserialize_graph(std::vector<uint8_t>(s.begin(), s.end()), &g, &batch));
    return make_engine(std::move(g), batch);
  });
}

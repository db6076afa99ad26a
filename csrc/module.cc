// pybind11 binding layer ONLY: turns Python buffers into views, calls the core, maps Status to
// exceptions. Argument checks a user can trip are made in Python (python/spiralkit/ops) with
// friendlier messages; the core re-checks what would otherwise corrupt memory.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "config/kernel_config.h"
#include "config/kernel_registry_bf16.h"
#include "config/kernel_registry_f16.h"
#include "csrc/qops_bindings.h"
#include "csrc/status_to_python.h"
#include "hw/cpu_features.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "ops/linear_f16.h"
#include "runtime/threads.h"
#include "sparse/packed_weight.h"

namespace py = pybind11;
using spiralkit::check;

void bind_engine(py::module_& m);  // csrc/engine.cc

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// Requires a C-contiguous float32 array of `ndim` dimensions (no silent conversion).
py::buffer_info checked_buffer(const py::array& a, const char* name, int ndim) {
  if (!py::isinstance<py::array_t<float>>(a) || a.dtype().kind() != 'f' || a.itemsize() != 4) {
    check(spiralkit::Status::InvalidArgument(std::string(name) + ": expected float32, got " +
                                             std::string(py::str(a.dtype()))));
  }
  if (a.ndim() != ndim) {
    check(spiralkit::Status::InvalidArgument(std::string(name) + ": expected " + std::to_string(ndim) + "-D, got " +
                                             std::to_string(a.ndim()) + "-D"));
  }
  if (!(a.flags() & py::array::c_style)) {
    check(spiralkit::Status::InvalidArgument(std::string(name) + ": expected a C-contiguous array"));
  }
  return a.request();
}

// The same checks as checked_buffer, without building a buffer_info (a GEMV call is a few
// microseconds; this path is the hot one). Returns the data pointer.
const float* checked_data(const py::array& a, const char* name, int ndim) {
  // isinstance<array_t<float>> also refuses byte-swapped float32, which a type-number check would not.
  if (!py::isinstance<py::array_t<float>>(a) || a.ndim() != ndim || !(a.flags() & py::array::c_style)) {
    return static_cast<const float*>(checked_buffer(a, name, ndim).ptr);  // raises the precise error
  }
  return static_cast<const float*>(a.data());
}

const float* optional_bias(const py::object& bias, int64_t n) {
  if (bias.is_none()) return nullptr;
  py::array arr = bias.cast<py::array>();
  const float* data = checked_data(arr, "bias", 1);
  if (arr.shape(0) != n) {
    check(spiralkit::Status::InvalidArgument("bias: expected " + std::to_string(n) + " values, got " +
                                             std::to_string(arr.shape(0))));
  }
  return data;
}

spiralkit::Activation checked_activation(int code) {
  if (!spiralkit::activation_is_valid(code)) {
    check(spiralkit::Status::InvalidArgument("activation: unknown code " + std::to_string(code)));
  }
  return static_cast<spiralkit::Activation>(code);
}

std::shared_ptr<spiralkit::PackedWeight> pack(const py::array& dense, int kind, int r, int c, int n, int m,
                                              const std::string& dtype) {
  if (dtype != "float32" && dtype != "float16")
    check(spiralkit::Status::InvalidArgument("dtype: expected 'float32' or 'float16', got '" + dtype + "'"));
  py::buffer_info info = checked_buffer(dense, "weight", 2);
  if (kind < 0 || kind > 3) check(spiralkit::Status::InvalidArgument("pattern: unknown kind " + std::to_string(kind)));
  spiralkit::Pattern p;
  p.kind = static_cast<spiralkit::PatternKind>(kind);
  p.block_rows = r;
  p.block_cols = c;
  p.nm_n = n;
  p.nm_m = m;
  std::unique_ptr<spiralkit::PackedWeight> out;
  spiralkit::Status st;
  {
    py::gil_scoped_release release;
    st = spiralkit::pack_weight(static_cast<const float*>(info.ptr), info.shape[0], info.shape[1], p, &out);
    if (st.ok() && dtype == "float16") st = spiralkit::convert_to_float16(out.get());
  }
  check(st);
  return std::shared_ptr<spiralkit::PackedWeight>(std::move(out));
}

py::array_t<float> to_dense(const spiralkit::PackedWeight& w) {
  py::array_t<float> out({w.rows, w.cols});
  w.to_dense(out.mutable_data());
  return out;
}

py::array_t<float> linear(const py::array& x, const spiralkit::PackedWeight& w, const py::object& bias, int act) {
  const float* xp = checked_data(x, "x", 2);
  const int64_t m = x.shape(0);
  if (x.shape(1) != w.cols) {
    check(spiralkit::Status::InvalidArgument("x: expected K=" + std::to_string(w.cols) + " columns, got " +
                                             std::to_string(x.shape(1))));
  }
  const float* b = optional_bias(bias, w.rows);
  const spiralkit::Activation a = checked_activation(act);
  py::array_t<float> y({m, w.rows});
  float* yp = y.mutable_data();
  spiralkit::Status st;
  {
    py::gil_scoped_release release;
    st = spiralkit::linear_forward(w, xp, m, b, a, yp);
  }
  check(st);
  return y;
}

py::array_t<float> conv2d(const py::array& x, const spiralkit::PackedWeight& w, const py::object& bias, int kh, int kw,
                          int sh, int sw, int ph, int pw, int dh, int dw, int groups, int act) {
  py::buffer_info xi = checked_buffer(x, "x", 4);
  spiralkit::ConvShape s;
  s.batch = xi.shape[0];
  s.in_channels = xi.shape[1];
  s.in_h = xi.shape[2];
  s.in_w = xi.shape[3];
  s.out_channels = w.rows;
  s.kernel_h = kh;
  s.kernel_w = kw;
  s.stride_h = sh;
  s.stride_w = sw;
  s.pad_h = ph;
  s.pad_w = pw;
  s.dilation_h = dh;
  s.dilation_w = dw;
  s.groups = groups;
  if (kh < 1 || kw < 1) check(spiralkit::Status::InvalidArgument("w: kernel sides must be >= 1"));
  check(spiralkit::conv2d_output_size(&s));
  const float* b = optional_bias(bias, w.rows);
  const spiralkit::Activation a = checked_activation(act);
  py::array_t<float> y({s.batch, s.out_channels, s.out_h, s.out_w});
  float* yp = y.mutable_data();
  spiralkit::Status st;
  {
    py::gil_scoped_release release;
    st = w.float16 ? spiralkit::conv1x1_forward_f16(w, s, static_cast<const float*>(xi.ptr), b, a, yp)
                   : spiralkit::conv2d_forward(w, s, static_cast<const float*>(xi.ptr), b, a, yp);
  }
  check(st);
  return y;
}

py::dict info() {
  const auto& f = spiralkit::cpu_features();
  py::dict d;
  d["isa_detected"] = spiralkit::isa_name(f.detected);
  d["isa_active"] = spiralkit::isa_name(f.active);
  d["isa_forced"] = f.forced.empty() ? py::object(py::none()) : py::object(py::str(f.forced));
  if (!f.note.empty()) d["isa_note"] = f.note;
  d["cpu_fma"] = f.has_fma;
  d["cpu_avx512_vnni"] = f.has_avx512_vnni;
  d["cpu_avx512_bf16"] = f.has_avx512_bf16;
  d["physical_cores"] = f.physical_cores;
  d["logical_cpus"] = f.logical_cpus;
  d["num_threads"] = spiralkit::get_num_threads();
  py::dict build;
  build["native"] = bool(SPIRALKIT_BUILD_NATIVE);
  build["cuda"] = bool(SPIRALKIT_BUILD_CUDA);
  build["compiler"] = SPIRALKIT_COMPILER;
  build["build_type"] = SPIRALKIT_BUILD_TYPE;
  build["openmp"] = bool(SPIRALKIT_HAVE_OPENMP);
  d["build"] = build;
  py::dict kernels;
  for (const auto& k : spiralkit::kernel_choices()) {
    py::dict row;
    row["kernel"] = k.kernel;
    row["isa"] = k.isa;
    kernels[py::str(k.family)] = row;
  }
  if (!spiralkit::f16_spmm_table().empty()) {  // the opt-in float16 family (AArch64 builds)
    const spiralkit::F16SpmmRow* f16 = spiralkit::select_f16_spmm(4);
    py::dict row;
    row["kernel"] = f16 ? f16->name : "unavailable (no FEAT_FP16)";
    row["isa"] = f16 ? spiralkit::isa_name(f16->isa) : "-";
    kernels["f16-spmm"] = row;
  }
  if (!spiralkit::bf16_gemm_table().empty()) {  // int8 plans' attention products (x86 builds)
    const spiralkit::Bf16GemmRow* bf16 = spiralkit::select_bf16_gemm();
    py::dict row;
    row["kernel"] = bf16 ? bf16->name : "unavailable (no AVX512_BF16)";
    row["isa"] = bf16 ? spiralkit::isa_name(bf16->isa) : "-";
    kernels["bf16-gemm"] = row;
  }
  d["cpu_fp16"] = f.has_fp16;
  d["cpu_dotprod"] = f.has_dotprod;
  d["kernels"] = kernels;
  return d;
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "spiralkit native core (CPU)";
  py::class_<spiralkit::PackedWeight, std::shared_ptr<spiralkit::PackedWeight>>(m, "PackedWeight")
      .def_readonly("rows", &spiralkit::PackedWeight::rows)
      .def_readonly("cols", &spiralkit::PackedWeight::cols)
      .def_readonly("nnz", &spiralkit::PackedWeight::nnz)
      .def_property_readonly("nbytes", &spiralkit::PackedWeight::nbytes)
      .def_property_readonly("pattern", [](const spiralkit::PackedWeight& w) { return w.pattern.name(); })
      .def_property_readonly("dtype", [](const spiralkit::PackedWeight& w) { return w.float16 ? "float16" : "float32"; })
      .def("to_dense", &to_dense);
  m.def("pack", &pack, py::arg("dense"), py::arg("kind"), py::arg("r"), py::arg("c"), py::arg("n"), py::arg("m"),
        py::arg("dtype") = "float32");
  m.def("linear", &linear);
  m.def("conv2d", &conv2d);
  m.def("info", &info);
  m.def("set_num_threads", [](int n) {
    if (n < 1) check(spiralkit::Status::InvalidArgument("n: expected a positive thread count"));
    spiralkit::set_num_threads(n);
  });
  m.def("get_num_threads", &spiralkit::get_num_threads);
  bind_engine(m);
  spiralkit_qops::bind_qops(m);
}

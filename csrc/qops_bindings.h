// pybind11 bindings of the int8 (qs8) ops, included once by csrc/module.cc (a header so the
// extension's source list stays as it is): int8 weight packing, qlinear, qconv2d, the kernel table.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "config/kernel_registry_i8.h"
#include "csrc/status_to_python.h"
#include "ops/qconv2d.h"
#include "ops/qlinear.h"
#include "sparse/packed_weight_i8.h"

namespace spiralkit_qops {
namespace py = pybind11;
using spiralkit::check;
using spiralkit::Status;

inline spiralkit::Pattern qpattern(int kind, int r, int c, int n, int m) {
  if (kind < 0 || kind > 3) check(Status::InvalidArgument("pattern: unknown kind " + std::to_string(kind)));
  spiralkit::Pattern p;
  p.kind = static_cast<spiralkit::PatternKind>(kind);
  p.block_rows = r;
  p.block_cols = c;
  p.nm_n = n;
  p.nm_m = m;
  return p;
}

template <typename T>
const T* checked(const py::array& a, const char* name, int ndim) {
  if (!py::isinstance<py::array_t<T>>(a) || a.ndim() != ndim || !(a.flags() & py::array::c_style))
    check(Status::InvalidArgument(std::string(name) + ": expected a C-contiguous " + std::to_string(ndim) + "-D " +
                                  std::string(py::str(py::dtype::of<T>())) + " array, got " +
                                  std::string(py::str(a.dtype())) + " " + std::to_string(a.ndim()) + "-D"));
  return static_cast<const T*>(a.data());
}

inline const float* qbias(const py::object& bias, int64_t n) {
  if (bias.is_none()) return nullptr;
  py::array arr = bias.cast<py::array>();
  const float* p = checked<float>(arr, "bias", 1);
  if (arr.shape(0) != n)
    check(Status::InvalidArgument("bias: expected " + std::to_string(n) + " values, got " + std::to_string(arr.shape(0))));
  return p;
}

inline spiralkit::Epilogue qepilogue(const py::object& bias, int64_t n, int act, int choice) {
  if (!spiralkit::activation_is_valid(act)) check(Status::InvalidArgument("activation: unknown code " + std::to_string(act)));
  if (!spiralkit::valid_kernel_choice(choice)) check(Status::InvalidArgument("choice: expected 0, 1 or 2"));
  spiralkit::Epilogue ep;
  ep.bias = qbias(bias, n);
  ep.act = static_cast<spiralkit::Activation>(act);
  ep.choice = static_cast<spiralkit::PlanChoice>(choice);
  return ep;
}

using QW = std::shared_ptr<spiralkit::PackedWeightI8>;

inline QW quantize_i8(const py::array& dense, int kind, int r, int c, int n, int m) {
  const float* p = checked<float>(dense, "weight", 2);
  std::unique_ptr<spiralkit::PackedWeightI8> out;
  Status st;
  {
    py::gil_scoped_release release;
    st = spiralkit::quantize_weight_i8(p, dense.shape(0), dense.shape(1), qpattern(kind, r, c, n, m), &out);
  }
  check(st);
  return QW(std::move(out));
}

inline QW pack_i8(const py::array& q, const py::array& scales, int kind, int r, int c, int n, int m) {
  const int8_t* qp = checked<int8_t>(q, "weight", 2);
  const float* sp = checked<float>(scales, "scales", 1);
  if (scales.shape(0) != q.shape(0))
    check(Status::InvalidArgument("scales: expected " + std::to_string(q.shape(0)) + " values (one per row), got " +
                                  std::to_string(scales.shape(0))));
  std::unique_ptr<spiralkit::PackedWeightI8> out;
  check(spiralkit::pack_weight_i8(qp, sp, q.shape(0), q.shape(1), qpattern(kind, r, c, n, m), &out));
  return QW(std::move(out));
}

inline py::array_t<float> qlinear(const py::array& x, const spiralkit::PackedWeightI8& w, float x_scale,
                                  int x_zero_point, const py::object& bias, int act, int choice) {
  const float* xp = checked<float>(x, "x", 2);
  if (x.shape(1) != w.cols)
    check(Status::InvalidArgument("x: expected K=" + std::to_string(w.cols) + " columns, got " +
                                  std::to_string(x.shape(1))));
  spiralkit::QLinearPlan plan;
  check(spiralkit::qlinear_plan(w, {x_scale, x_zero_point}, &plan));
  const spiralkit::Epilogue ep = qepilogue(bias, w.rows, act, choice);
  const int64_t m = x.shape(0);
  py::array_t<float> y({m, w.rows});
  float* yp = y.mutable_data();
  Status st;
  {
    py::gil_scoped_release release;
    st = spiralkit::qlinear_forward(plan, xp, m, ep, yp);
  }
  check(st);
  return y;
}

inline py::array_t<float> qconv2d(const py::array& x, const spiralkit::PackedWeightI8& w, float x_scale,
                                  int x_zero_point, const py::object& bias, int kh, int kw, int sh, int sw, int ph,
                                  int pw, int dh, int dw, int groups, int act) {
  const float* xp = checked<float>(x, "x", 4);
  spiralkit::ConvShape s;
  s.batch = x.shape(0);
  s.in_channels = x.shape(1);
  s.in_h = x.shape(2);
  s.in_w = x.shape(3);
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
  if (kh < 1 || kw < 1) check(Status::InvalidArgument("w: kernel sides must be >= 1"));
  spiralkit::QLinearPlan layer;
  check(spiralkit::qlinear_plan(w, {x_scale, x_zero_point}, &layer));
  spiralkit::QConvPlan plan;
  check(spiralkit::qconv2d_plan(layer, s, &plan));
  const spiralkit::Epilogue ep = qepilogue(bias, w.rows, act, 0);
  py::array_t<float> y({s.batch, s.out_channels, plan.shape.out_h, plan.shape.out_w});
  float* yp = y.mutable_data();
  Status st;
  {
    py::gil_scoped_release release;
    st = spiralkit::qconv2d_forward(plan, s.batch, xp, ep, yp);
  }
  check(st);
  return y;
}

inline py::list qs8_kernels() {
  py::list rows;
  auto add = [&](const char* family, const auto& table) {
    for (const auto& row : table) {
      py::dict d;
      d["family"] = family;
      d["kernel"] = row.name;
      d["isa"] = spiralkit::isa_name(row.isa);
      d["r"] = row.r;
      d["tile"] = row.tile;
      d["runnable"] = spiralkit::isa_allows(row.isa);
      rows.append(d);
    }
  };
  add("qs8-spmm", spiralkit::qs8_spmm_table());
  add("qs8-gemm", spiralkit::qs8_gemm_table());
  add("qs8-spmv", spiralkit::qs8_spmv_table());
  add("qs8-gemv", spiralkit::qs8_gemv_table());
  add("qs8-dwconv", spiralkit::qs8_dwconv_table());
  add("qu8-vquant", spiralkit::qu8_vquant_table());
  return rows;
}

inline void bind_qops(py::module_& m) {
  py::class_<spiralkit::PackedWeightI8, QW>(m, "PackedWeightI8")
      .def_readonly("rows", &spiralkit::PackedWeightI8::rows)
      .def_readonly("cols", &spiralkit::PackedWeightI8::cols)
      .def_readonly("nnz", &spiralkit::PackedWeightI8::nnz)
      .def_property_readonly("nbytes", &spiralkit::PackedWeightI8::nbytes)
      .def_property_readonly("pattern", [](const spiralkit::PackedWeightI8& w) { return w.pattern.name(); })
      .def_property_readonly("panel_rows", [](const spiralkit::PackedWeightI8& w) { return w.panels.r; })
      .def_property_readonly("scales",
                             [](const spiralkit::PackedWeightI8& w) {
                               py::array_t<float> s(static_cast<py::ssize_t>(w.rows));
                               std::copy(w.scales.begin(), w.scales.end(), s.mutable_data());
                               return s;
                             })
      .def("to_dense", [](const spiralkit::PackedWeightI8& w) {
        py::array_t<int8_t> out({w.rows, w.cols});
        w.to_dense(out.mutable_data());
        return out;
      });
  m.def("quantize_pack_i8", &quantize_i8, py::arg("dense"), py::arg("kind"), py::arg("r"), py::arg("c"),
        py::arg("n"), py::arg("m"));
  m.def("pack_i8", &pack_i8, py::arg("q"), py::arg("scales"), py::arg("kind"), py::arg("r"), py::arg("c"),
        py::arg("n"), py::arg("m"));
  m.def("qlinear", &qlinear, py::arg("x"), py::arg("w"), py::arg("x_scale"), py::arg("x_zero_point"),
        py::arg("bias") = py::none(), py::arg("act") = 0, py::arg("choice") = 0);
  m.def("qconv2d", &qconv2d);
  m.def("qs8_kernels", &qs8_kernels);
}

}  // namespace spiralkit_qops

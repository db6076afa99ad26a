// _C_cuda: the CUDA module (ARCHITECTURE.md). Binding layer only: numpy weights and DLPack
// capsules in, Status -> Python exceptions out. Packing, device weights, kernel choice and launches
// live in src/cuda/. No libtorch: tensors arrive as DLPack capsules made on the caller's current
// stream (tensor.__dlpack__(stream=...)), and the kernels launch on that stream.
// Argument checks a user can trip are made in python/spiralkit/cuda.py; this layer re-checks what
// would otherwise corrupt memory (dtype, device, shape, contiguity of every tensor).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "csrc/cuda/dlpack_view.h"
#include "csrc/status_to_python.h"
#include "cuda/device.h"
#include "cuda/device_weight.h"
#include "cuda/kernel_table.h"
#include "cuda/run.h"

namespace py = pybind11;
using spiralkit::check;
using spiralkit::Status;
namespace skc = spiralkit::cuda;

namespace {

std::shared_ptr<skc::DeviceWeight> pack(const py::array& dense, int kind, int r, int c, int n, int m, int dtype,
                                        bool dense_h16, int device) {
  if (!py::isinstance<py::array_t<float>>(dense) || dense.dtype().kind() != 'f' || dense.itemsize() != 4) {
    check(Status::InvalidArgument("weight: expected float32, got " + std::string(py::str(dense.dtype()))));
  }
  if (dense.ndim() != 2) check(Status::InvalidArgument("weight: expected 2-D, got " + std::to_string(dense.ndim()) + "-D"));
  if (!(dense.flags() & py::array::c_style)) check(Status::InvalidArgument("weight: expected a C-contiguous array"));
  if (kind < 0 || kind > 3) check(Status::InvalidArgument("pattern: unknown kind " + std::to_string(kind)));
  if (dtype < 0 || dtype > 2) check(Status::InvalidArgument("dtype: unknown code " + std::to_string(dtype)));
  spiralkit::Pattern p;
  p.kind = static_cast<spiralkit::PatternKind>(kind);
  p.block_rows = r;
  p.block_cols = c;
  p.nm_n = n;
  p.nm_m = m;
  py::buffer_info info = dense.request();
  std::unique_ptr<skc::DeviceWeight> w;
  Status st;
  {
    py::gil_scoped_release release;
    st = skc::pack_to_device(static_cast<const float*>(info.ptr), info.shape[0], info.shape[1], p,
                             static_cast<skc::DType>(dtype), dense_h16, device, &w);
  }
  check(st);
  return std::shared_ptr<skc::DeviceWeight>(std::move(w));
}

skc::TensorView view(const py::handle& capsule, const char* name) {
  skc::TensorView v;
  check(skc::view_capsule(capsule, name, &v));
  return v;
}

void expect(bool ok, const std::string& message) {
  if (!ok) check(Status::InvalidArgument(message));
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

// x [..., K] and y [..., N] of the weight's dtype, on one device; bias [N] or None.
skc::LinearCall linear_call(const skc::DeviceWeight& w, const py::handle& x, const py::handle& y, const py::object& bias,
                            int activation, uintptr_t stream) {
  const skc::TensorView xv = view(x, "x"), yv = view(y, "out");
  expect(xv.dtype == w.dtype, std::string("x: expected ") + skc::dtype_name(w.dtype) + " (the weight's dtype), got " +
                                  skc::dtype_name(xv.dtype));
  expect(yv.dtype == w.dtype && yv.device == xv.device, "out: expected the weight's dtype on x's device");
  expect(!xv.shape.empty() && xv.shape.back() == w.cols,
         "x: expected last dimension K=" + std::to_string(w.cols) + ", got shape " + shape_str(xv.shape));
  const int64_t m = xv.numel() / w.cols;
  expect(yv.numel() == m * w.rows && !yv.shape.empty() && yv.shape.back() == w.rows,
         "out: expected " + std::to_string(m) + " rows of " + std::to_string(w.rows) + ", got shape " + shape_str(yv.shape));
  skc::LinearCall call;
  call.x = xv.data;
  call.m = m;
  call.y = yv.data;
  call.activation = activation;
  call.stream = reinterpret_cast<void*>(stream);
  call.device = xv.device;
  if (!bias.is_none()) {
    const skc::TensorView bv = view(bias, "bias");
    expect(bv.dtype == w.dtype && bv.device == xv.device && bv.shape.size() == 1 && bv.shape[0] == w.rows,
           "bias: expected (" + std::to_string(w.rows) + ",) of the weight's dtype on x's device, got shape " +
               shape_str(bv.shape));
    call.bias = bv.data;
  }
  return call;
}

std::string linear_f32(const skc::DeviceWeight& w, const py::handle& x, const py::handle& y, const py::object& bias,
                       int activation, uintptr_t stream) {
  const skc::LinearCall call = linear_call(w, x, y, bias, activation, stream);
  std::string kernel;
  Status st;
  {
    py::gil_scoped_release release;
    st = skc::run_linear_f32(w, call, &kernel);
  }
  check(st);
  return kernel;
}

void linear_h16(const skc::DeviceWeight& w, int row, const py::handle& x, const py::handle& y, const py::object& bias,
                int activation, uintptr_t stream) {
  const skc::LinearCall call = linear_call(w, x, y, bias, activation, stream);
  Status st;
  {
    py::gil_scoped_release release;
    st = skc::run_h16_linear(w, row, call);
  }
  check(st);
}

void conv2d_h16(const skc::DeviceWeight& w, int row, const py::handle& x, const py::handle& y, const py::object& bias,
                int activation, std::array<int, 2> kernel_size, std::array<int, 2> stride, std::array<int, 2> padding,
                std::array<int, 2> dilation, uintptr_t stream) {
  const skc::TensorView xv = view(x, "x"), yv = view(y, "out");
  expect(xv.dtype == w.dtype, std::string("x: expected ") + skc::dtype_name(w.dtype) + ", got " + skc::dtype_name(xv.dtype));
  expect(xv.shape.size() == 4, "x: expected a 4-D NCHW tensor, got shape " + shape_str(xv.shape));
  expect(yv.shape.size() == 4 && yv.dtype == w.dtype && yv.device == xv.device,
         "out: expected a 4-D tensor of the weight's dtype on x's device");
  skc::ConvCall c;
  c.x = xv.data;
  c.y = yv.data;
  c.activation = activation;
  c.batch = xv.shape[0];
  c.c_in = xv.shape[1];
  c.h = xv.shape[2];
  c.w = xv.shape[3];
  c.kh = kernel_size[0];
  c.kw = kernel_size[1];
  c.stride_h = stride[0];
  c.stride_w = stride[1];
  c.pad_h = padding[0];
  c.pad_w = padding[1];
  c.dil_h = dilation[0];
  c.dil_w = dilation[1];
  expect(c.stride_h >= 1 && c.stride_w >= 1 && c.dil_h >= 1 && c.dil_w >= 1 && c.kh >= 1 && c.kw >= 1 &&
             c.pad_h >= 0 && c.pad_w >= 0,
         "conv: kernel size, stride and dilation must be >= 1, padding >= 0");
  c.out_h = (c.h + 2 * c.pad_h - int64_t(c.dil_h) * (c.kh - 1) - 1) / c.stride_h + 1;
  c.out_w = (c.w + 2 * c.pad_w - int64_t(c.dil_w) * (c.kw - 1) - 1) / c.stride_w + 1;
  expect(c.out_h >= 1 && c.out_w >= 1, "x: the input is smaller than the dilated kernel");
  const std::vector<int64_t> want = {c.batch, w.rows, c.out_h, c.out_w};
  expect(yv.shape == want, "out: expected shape " + shape_str(want) + ", got " + shape_str(yv.shape));
  if (!bias.is_none()) {
    const skc::TensorView bv = view(bias, "bias");
    expect(bv.dtype == w.dtype && bv.device == xv.device && bv.shape.size() == 1 && bv.shape[0] == w.rows,
           "bias: expected (" + std::to_string(w.rows) + ",) of the weight's dtype on x's device");
    c.bias = bv.data;
  }
  c.stream = reinterpret_cast<void*>(stream);
  c.device = xv.device;
  Status st;
  {
    py::gil_scoped_release release;
    st = skc::run_h16_conv(w, row, c);
  }
  check(st);
}

py::tuple plan(const skc::DeviceWeight& w, int op, int64_t m, int mode) {
  if (op < 0 || op > 2) check(Status::InvalidArgument("op: unknown code " + std::to_string(op)));
  if (mode < 0 || mode > 2) check(Status::InvalidArgument("kernel: unknown mode code " + std::to_string(mode)));
  skc::H16Choice choice;
  check(skc::plan(w, static_cast<skc::Op>(op), m, static_cast<skc::Mode>(mode), &choice));
  return py::make_tuple(choice.row, skc::h16_kernel_name(choice.row), choice.reason);
}

py::list kernel_rows() {
  py::list out;
  for (int table = 0; table < 2; ++table) {
    size_t count = 0;
    const skc::KernelRow* rows = table == 0 ? skc::f32_rows(&count) : skc::h16_rows(&count);
    for (size_t i = 0; i < count; ++i) {
      out.append(py::make_tuple(rows[i].name, rows[i].min_sm, skc::dtype_name(rows[i].dtype), skc::op_name(rows[i].op),
                                skc::format_name(rows[i].format), rows[i].block_rows, rows[i].block_cols));
    }
  }
  return out;
}

py::dict device_properties(int device) {
  skc::DeviceProperties p;
  check(skc::device_properties(device, &p));
  py::dict d;
  d["name"] = p.name;
  d["compute_capability"] = py::make_tuple(p.major, p.minor);
  d["multiprocessors"] = p.multiprocessors;
  d["max_shared_memory_per_block_optin"] = p.max_smem_optin;
  d["total_memory"] = p.total_memory;
  return d;
}

}  // namespace

PYBIND11_MODULE(_C_cuda, mod) {
  mod.doc() = "spiralkit CUDA kernels (sparse linear and convolution on GPU); loaded by spiralkit.cuda on first use";

  py::class_<skc::DeviceWeight, std::shared_ptr<skc::DeviceWeight>>(mod, "DeviceWeight")
      .def_readonly("device", &skc::DeviceWeight::device)
      .def_readonly("rows", &skc::DeviceWeight::rows)
      .def_readonly("cols", &skc::DeviceWeight::cols)
      .def_readonly("nnz", &skc::DeviceWeight::nnz)
      .def_readonly("density", &skc::DeviceWeight::density)
      .def_property_readonly("pattern", [](const skc::DeviceWeight& w) { return w.pattern.name(); })
      .def_property_readonly("dtype", [](const skc::DeviceWeight& w) { return skc::dtype_name(w.dtype); })
      .def_property_readonly("nbytes", &skc::DeviceWeight::nbytes)
      .def_property_readonly("kernel", &skc::DeviceWeight::family);

  mod.def("pack", &pack, py::arg("dense"), py::arg("kind"), py::arg("block_rows"), py::arg("block_cols"),
          py::arg("nm_n"), py::arg("nm_m"), py::arg("dtype"), py::arg("dense_h16"), py::arg("device"),
          "Pack a dense float32 (N, K) matrix whose zeros follow the pattern for `dtype` (0 float32, 1 float16, "
          "2 bfloat16) and upload it to `device`.");
  mod.def("plan", &plan, py::arg("w"), py::arg("op"), py::arg("m"), py::arg("mode"),
          "(row, kernel name, reason) for an m-row fp16/bf16 call of op (0 linear, 1 conv2d, 2 depthwise); "
          "row -1 = dense vendor library. mode: 0 auto, 1 sparse, 2 dense.");
  mod.def("linear_f32", &linear_f32, py::arg("w"), py::arg("x"), py::arg("out"), py::arg("bias"),
          py::arg("activation"), py::arg("stream"),
          "out = act(x @ W.T + bias) on DLPack capsules, launched on `stream`; returns the kernel's name.");
  mod.def("linear_h16", &linear_h16, py::arg("w"), py::arg("row"), py::arg("x"), py::arg("out"), py::arg("bias"),
          py::arg("activation"), py::arg("stream"));
  mod.def("conv2d_h16", &conv2d_h16, py::arg("w"), py::arg("row"), py::arg("x"), py::arg("out"), py::arg("bias"),
          py::arg("activation"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
          py::arg("stream"));
  mod.def("kernel_rows", &kernel_rows, "The CUDA kernel tables: (name, min_sm, dtype, op, format, block_rows, block_cols).");
  mod.def("device_count", &skc::device_count);
  mod.def("device_error", []() -> py::object {
    const std::string e = skc::device_error();
    return e.empty() ? py::object(py::none()) : py::object(py::str(e));
  });
  mod.def("device_properties", &device_properties, py::arg("device"));
  mod.def("runtime_version", []() {
    int v = 0;
    check(skc::runtime_version(&v));
    return v;
  });
  mod.def("driver_version", []() {
    int v = 0;
    check(skc::driver_version(&v));
    return v;
  });
  mod.attr("CUDA_ARCHITECTURES") = SPIRALKIT_CUDA_ARCHITECTURES;
}

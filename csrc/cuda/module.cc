// _C_cuda: the CUDA module (ARCHITECTURE.md). pybind11 binding layer: packs a weight with the core's
// packer, uploads the kernel layout to a GPU, and launches the kernels of kernels/cuda on device
// pointers and the caller's stream. No libtorch: tensors arrive as raw device pointers (data_ptr())
// and a cudaStream_t (torch.cuda.current_stream().cuda_stream). Argument checks a user can trip
// are made in python/spiralkit/cuda.py; this layer re-checks what would otherwise corrupt memory.
// Every CUDA call is checked; a CUDA failure becomes RuntimeError with CUDA's own message.
#include <cuda_runtime.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "csrc/status_to_python.h"
#include "kernels/cuda/f32-spmm-cuda.h"
#include "sparse/packed_weight.h"

namespace py = pybind11;
using spiralkit::check;
using spiralkit::Status;

namespace {

Status cuda_status(cudaError_t err, const std::string& what) {
  if (err == cudaSuccess) return Status::Ok();
  return Status::RuntimeError("CUDA error during " + what + ": " + cudaGetErrorName(err) + ": " +
                              cudaGetErrorString(err));
}

#define SK_CUDA(expr, what) SPIRALKIT_RETURN_IF_ERROR(cuda_status((expr), (what)))

// Makes `device` current for a scope; restores the caller's device afterwards.
class DeviceScope {
 public:
  Status enter(int device) {
    SK_CUDA(cudaGetDevice(&prev_), "cudaGetDevice");
    if (prev_ != device) {
      SK_CUDA(cudaSetDevice(device), "cudaSetDevice(" + std::to_string(device) + ")");
      switched_ = true;
    }
    return Status::Ok();
  }
  ~DeviceScope() {
    if (switched_) cudaSetDevice(prev_);
  }

 private:
  int prev_ = 0;
  bool switched_ = false;
};

struct DeviceFacts {
  int num_sms = 0;
  int max_smem_optin = 0;
};

Status device_count(int* count) {
  *count = 0;
  return cuda_status(cudaGetDeviceCount(count), "cudaGetDeviceCount");
}

Status device_facts(int device, DeviceFacts* out) {
  static std::mutex mu;
  static std::vector<DeviceFacts> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (device < static_cast<int>(cache.size()) && cache[device].num_sms > 0) {
    *out = cache[device];
    return Status::Ok();
  }
  int count = 0;
  SPIRALKIT_RETURN_IF_ERROR(device_count(&count));
  if (device < 0 || device >= count) {
    return Status::InvalidArgument("device: expected a CUDA device index in [0, " + std::to_string(count) +
                                   "), got " + std::to_string(device));
  }
  DeviceFacts f;
  SK_CUDA(cudaDeviceGetAttribute(&f.num_sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  SK_CUDA(cudaDeviceGetAttribute(&f.max_smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
          "cudaDeviceGetAttribute");
  if (cache.size() <= static_cast<size_t>(device)) cache.resize(device + 1);
  cache[device] = f;
  *out = f;
  return Status::Ok();
}

// One device allocation, freed with its owner.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { reset(); }
  void reset() {
    // At interpreter exit the runtime may already be unloading: nothing to report then.
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  Status upload(const void* host, size_t bytes, const char* what) {
    if (bytes == 0) return Status::Ok();
    SK_CUDA(cudaMalloc(&ptr_, bytes), std::string("cudaMalloc of ") + std::to_string(bytes) + " bytes (" + what + ")");
    bytes_ = bytes;
    return cuda_status(cudaMemcpy(ptr_, host, bytes, cudaMemcpyHostToDevice), std::string("cudaMemcpy (") + what + ")");
  }
  template <typename T>
  const T* get() const {
    return static_cast<const T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

enum class Kernel { kDense, kCsr, kBsrRx1, kBsr16x16, kNm };

const char* kernel_name(Kernel k) {
  switch (k) {
    case Kernel::kDense: return "dense";
    case Kernel::kCsr: return "csr";
    case Kernel::kBsrRx1: return "bsr";
    case Kernel::kBsr16x16: return "bsr16x16";
    case Kernel::kNm: return "nm";
  }
  return "?";
}

// A weight resident on one GPU, in the layout of the kernel chosen for its pattern.
class DeviceWeight {
 public:
  int device = 0;
  int64_t rows = 0, cols = 0, nnz = 0;
  std::string pattern;
  Kernel kernel = Kernel::kDense;
  int block_rows = 1, block_cols = 1, nm_n = 0, nm_m = 0;
  int64_t entries = 0;  // stored items the kernel loops over (see SpmmArgs::entries)
  DeviceBuffer values, row_ptr, col_idx, nm_offsets;

  int64_t nbytes() const {
    return static_cast<int64_t>(values.bytes() + row_ptr.bytes() + col_idx.bytes() + nm_offsets.bytes());
  }

  ~DeviceWeight() {
    // Free on the weight's own device, then give the caller's device back.
    int prev = -1;
    const bool switched = cudaGetDevice(&prev) == cudaSuccess && prev != device && cudaSetDevice(device) == cudaSuccess;
    values.reset();
    row_ptr.reset();
    col_idx.reset();
    nm_offsets.reset();
    if (switched) cudaSetDevice(prev);
  }
};

Status upload_packed(const spiralkit::PackedWeight& p, DeviceWeight* w) {
  SPIRALKIT_RETURN_IF_ERROR(w->values.upload(p.values.data(), p.values.size() * sizeof(float), "values"));
  SPIRALKIT_RETURN_IF_ERROR(w->row_ptr.upload(p.row_ptr.data(), p.row_ptr.size() * sizeof(int32_t), "row_ptr"));
  SPIRALKIT_RETURN_IF_ERROR(w->col_idx.upload(p.col_idx.data(), p.col_idx.size() * sizeof(int32_t), "col_idx"));
  return w->nm_offsets.upload(p.nm_offsets.data(), p.nm_offsets.size(), "nm_offsets");
}

Status pack_to_device(const float* dense, int64_t rows, int64_t cols, const spiralkit::Pattern& pattern, int device,
                      DeviceWeight* w) {
  std::unique_ptr<spiralkit::PackedWeight> packed;
  SPIRALKIT_RETURN_IF_ERROR(spiralkit::pack_weight(dense, rows, cols, pattern, &packed));  // checks the pattern
  w->device = device;
  w->rows = rows;
  w->cols = cols;
  w->nnz = packed->nnz;
  w->pattern = pattern.name();
  switch (pattern.kind) {
    case spiralkit::PatternKind::kDense: w->kernel = Kernel::kDense; break;
    case spiralkit::PatternKind::kUnstructured: w->kernel = Kernel::kCsr; break;
    case spiralkit::PatternKind::kNm: w->kernel = Kernel::kNm; break;
    case spiralkit::PatternKind::kBlock:
      if (pattern.block_cols == 1 && (pattern.block_rows == 4 || pattern.block_rows == 8)) {
        w->kernel = Kernel::kBsrRx1;
      } else if (pattern.block_rows == 16 && pattern.block_cols == 16) {
        w->kernel = Kernel::kBsr16x16;
      } else {
        w->kernel = Kernel::kCsr;  // other block shapes run on the CSR kernel, packed as such
      }
      break;
  }
  w->block_rows = pattern.block_rows;
  w->block_cols = pattern.block_cols;
  w->nm_n = pattern.nm_n;
  w->nm_m = pattern.nm_m;
  if (w->kernel == Kernel::kCsr && pattern.kind == spiralkit::PatternKind::kBlock) {
    spiralkit::Pattern csr;
    csr.kind = spiralkit::PatternKind::kUnstructured;
    SPIRALKIT_RETURN_IF_ERROR(spiralkit::pack_weight(dense, rows, cols, csr, &packed));
  }
  switch (w->kernel) {
    case Kernel::kDense: w->entries = rows * cols; break;
    case Kernel::kNm: w->entries = static_cast<int64_t>(packed->values.size()) / pattern.nm_n; break;
    default: w->entries = static_cast<int64_t>(packed->col_idx.size()); break;
  }
  DeviceScope scope;
  SPIRALKIT_RETURN_IF_ERROR(scope.enter(device));
  return upload_packed(*packed, w);
}

using FloatArray = py::array_t<float, py::array::c_style>;

std::shared_ptr<DeviceWeight> pack(const py::array& dense, int kind, int r, int c, int n, int m, int device) {
  if (!py::isinstance<py::array_t<float>>(dense) || dense.dtype().kind() != 'f' || dense.itemsize() != 4) {
    check(Status::InvalidArgument("weight: expected float32, got " + std::string(py::str(dense.dtype()))));
  }
  if (dense.ndim() != 2) {
    check(Status::InvalidArgument("weight: expected 2-D, got " + std::to_string(dense.ndim()) + "-D"));
  }
  if (!(dense.flags() & py::array::c_style)) check(Status::InvalidArgument("weight: expected a C-contiguous array"));
  if (kind < 0 || kind > 3) check(Status::InvalidArgument("pattern: unknown kind " + std::to_string(kind)));
  DeviceFacts facts;
  check(device_facts(device, &facts));
  spiralkit::Pattern p;
  p.kind = static_cast<spiralkit::PatternKind>(kind);
  p.block_rows = r;
  p.block_cols = c;
  p.nm_n = n;
  p.nm_m = m;
  auto w = std::make_shared<DeviceWeight>();
  py::buffer_info info = dense.request();
  Status st;
  {
    py::gil_scoped_release release;
    st = pack_to_device(static_cast<const float*>(info.ptr), info.shape[0], info.shape[1], p, device, w.get());
  }
  check(st);
  return w;
}

Status linear_impl(const DeviceWeight& w, uintptr_t x, int64_t m, uintptr_t y, uintptr_t bias, int act,
                   uintptr_t stream, int device) {
  if (device != w.device) {
    return Status::InvalidArgument("x: expected a tensor on cuda:" + std::to_string(w.device) +
                                   " (the weight's device), got cuda:" + std::to_string(device));
  }
  if (m < 0) return Status::InvalidArgument("x: negative row count " + std::to_string(m));
  if (act < 0 || act > 5) return Status::InvalidArgument("activation: unknown code " + std::to_string(act));
  if (m == 0) return Status::Ok();
  if (x == 0) return Status::InvalidArgument("x: null device pointer");
  if (y == 0) return Status::InvalidArgument("out: null device pointer");
  DeviceFacts facts;
  SPIRALKIT_RETURN_IF_ERROR(device_facts(device, &facts));
  DeviceScope scope;
  SPIRALKIT_RETURN_IF_ERROR(scope.enter(device));

  spiralkit::cuda::SpmmArgs a;
  a.m = m;
  a.n = w.rows;
  a.k = w.cols;
  a.x = reinterpret_cast<const float*>(x);
  a.y = reinterpret_cast<float*>(y);
  a.bias = reinterpret_cast<const float*>(bias);
  a.activation = act;
  a.values = w.values.get<float>();
  a.row_ptr = w.row_ptr.get<int32_t>();
  a.col_idx = w.col_idx.get<int32_t>();
  a.nm_offsets = w.nm_offsets.get<uint8_t>();
  a.block_rows = w.block_rows;
  a.block_cols = w.block_cols;
  a.nm_n = w.nm_n;
  a.nm_m = w.nm_m;
  a.entries = w.entries;
  a.num_sms = facts.num_sms;
  a.max_smem_per_block = facts.max_smem_optin;
  const auto s = reinterpret_cast<cudaStream_t>(stream);
  cudaError_t err = cudaSuccess;
  const char* name = "";
  switch (w.kernel) {
    case Kernel::kDense:
      // The tiled kernel once it has enough 64 x 64 tiles to fill the GPU; warp-per-row before.
      if ((m + 63) / 64 * ((w.rows + 63) / 64) < 2 * static_cast<int64_t>(facts.num_sms)) {
        name = "spiralkit_f32_spmm_ukernel_dense__cuda";
        err = spiralkit::cuda::spiralkit_f32_spmm_ukernel_dense__cuda(a, s);
      } else {
        name = "spiralkit_f32_spmm_ukernel_gemm__cuda";
        err = spiralkit::cuda::spiralkit_f32_spmm_ukernel_gemm__cuda(a, s);
      }
      break;
    case Kernel::kCsr:
      name = "spiralkit_f32_spmm_ukernel_csr__cuda";
      err = spiralkit::cuda::spiralkit_f32_spmm_ukernel_csr__cuda(a, s);
      break;
    case Kernel::kBsrRx1:
      name = "spiralkit_f32_spmm_ukernel_bsr__cuda";
      err = spiralkit::cuda::spiralkit_f32_spmm_ukernel_bsr__cuda(a, s);
      break;
    case Kernel::kBsr16x16:
      name = "spiralkit_f32_spmm_ukernel_bsr16x16__cuda";
      err = spiralkit::cuda::spiralkit_f32_spmm_ukernel_bsr16x16__cuda(a, s);
      break;
    case Kernel::kNm:
      name = "spiralkit_f32_spmm_ukernel_nm__cuda";
      err = spiralkit::cuda::spiralkit_f32_spmm_ukernel_nm__cuda(a, s);
      break;
  }
  return cuda_status(err, std::string("launch of ") + name);
}

void linear(const DeviceWeight& w, uintptr_t x, int64_t m, uintptr_t y, uintptr_t bias, int act, uintptr_t stream,
            int device) {
  Status st;
  {
    py::gil_scoped_release release;
    st = linear_impl(w, x, m, y, bias, act, stream, device);
  }
  check(st);
}

py::dict device_properties(int device) {
  DeviceFacts facts;
  check(device_facts(device, &facts));
  cudaDeviceProp prop;
  check(cuda_status(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties"));
  py::dict d;
  d["name"] = std::string(prop.name);
  d["compute_capability"] = py::make_tuple(prop.major, prop.minor);
  d["multiprocessors"] = facts.num_sms;
  d["max_shared_memory_per_block_optin"] = facts.max_smem_optin;
  d["total_memory"] = static_cast<int64_t>(prop.totalGlobalMem);
  return d;
}

}  // namespace

PYBIND11_MODULE(_C_cuda, mod) {
  mod.doc() = "spiralkit CUDA kernels (sparse linear on GPU); loaded by spiralkit.cuda on first use";

  py::class_<DeviceWeight, std::shared_ptr<DeviceWeight>>(mod, "DeviceWeight")
      .def_readonly("device", &DeviceWeight::device)
      .def_readonly("rows", &DeviceWeight::rows)
      .def_readonly("cols", &DeviceWeight::cols)
      .def_readonly("nnz", &DeviceWeight::nnz)
      .def_readonly("pattern", &DeviceWeight::pattern)
      .def_property_readonly("nbytes", &DeviceWeight::nbytes)
      .def_property_readonly("kernel", [](const DeviceWeight& w) { return kernel_name(w.kernel); });

  mod.def("pack", &pack, py::arg("dense"), py::arg("kind"), py::arg("block_rows"), py::arg("block_cols"),
          py::arg("nm_n"), py::arg("nm_m"), py::arg("device"),
          "Pack a dense float32 (N, K) matrix whose zeros follow the pattern and upload it to `device`.");
  mod.def("linear", &linear, py::arg("w"), py::arg("x_ptr"), py::arg("m"), py::arg("y_ptr"), py::arg("bias_ptr"),
          py::arg("activation"), py::arg("stream"), py::arg("device"),
          "y[m, N] = act(x[m, K] @ W.T + bias) on device pointers, launched on `stream` (a cudaStream_t).");
  mod.def("device_count", []() {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear the sticky-free error so later calls report their own
      return 0;
    }
    return count;
  });
  mod.def("device_error", []() -> py::object {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err == cudaSuccess) return py::none();
    cudaGetLastError();
    return py::str(std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err));
  });
  mod.def("device_properties", &device_properties, py::arg("device"));
  mod.def("runtime_version", []() {
    int v = 0;
    check(cuda_status(cudaRuntimeGetVersion(&v), "cudaRuntimeGetVersion"));
    return v;
  });
  mod.def("driver_version", []() {
    int v = 0;
    check(cuda_status(cudaDriverGetVersion(&v), "cudaDriverGetVersion"));
    return v;
  });
  mod.attr("CUDA_ARCHITECTURES") = SPIRALKIT_CUDA_ARCHITECTURES;
}

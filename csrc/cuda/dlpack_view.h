// Reading a DLPack capsule (the stable, unversioned DLPack 0.x ABI every torch exports by default)
// without taking ownership: the Python caller keeps the capsule alive for the call, and its own
// destructor frees the tensor. Only the checks a kernel needs: device, dtype, shape, row-major.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "cuda/formats.h"

namespace spiralkit {
namespace cuda {

namespace dlpack {
// The ABI structs, as dlpack.h v0.8 defines them.
struct Device {
  int32_t device_type;  // 2 = kDLCUDA
  int32_t device_id;
};
struct DataType {
  uint8_t code;  // 2 = float, 4 = bfloat
  uint8_t bits;
  uint16_t lanes;
};
struct Tensor {
  void* data;
  Device device;
  int32_t ndim;
  DataType dtype;
  int64_t* shape;
  int64_t* strides;  // null = compact row-major
  uint64_t byte_offset;
};
struct ManagedTensor {
  Tensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(ManagedTensor*);
};
constexpr int32_t kCuda = 2;
}  // namespace dlpack

struct TensorView {
  void* data = nullptr;
  int device = 0;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

inline Status view_capsule(const pybind11::handle& obj, const char* name, TensorView* out) {
  PyObject* cap = obj.ptr();
  if (!PyCapsule_CheckExact(cap) || !PyCapsule_IsValid(cap, "dltensor")) {
    return Status::InvalidArgument(std::string(name) + ": expected an unconsumed DLPack capsule ('dltensor')");
  }
  auto* managed = static_cast<dlpack::ManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
  const dlpack::Tensor& t = managed->dl_tensor;
  if (t.device.device_type != dlpack::kCuda) {
    return Status::InvalidArgument(std::string(name) + ": expected a CUDA tensor (DLPack device type 2), got type " +
                                   std::to_string(t.device.device_type));
  }
  if (t.dtype.lanes != 1) return Status::InvalidArgument(std::string(name) + ": vector dtypes are not supported");
  if (t.dtype.code == 2 && t.dtype.bits == 32) {
    out->dtype = DType::kF32;
  } else if (t.dtype.code == 2 && t.dtype.bits == 16) {
    out->dtype = DType::kF16;
  } else if (t.dtype.code == 4 && t.dtype.bits == 16) {
    out->dtype = DType::kBF16;
  } else {
    return Status::InvalidArgument(std::string(name) + ": expected float32, float16 or bfloat16 (DLPack code " +
                                   std::to_string(t.dtype.code) + ", " + std::to_string(t.dtype.bits) + " bits)");
  }
  if (t.ndim < 0 || t.ndim > 16) return Status::InvalidArgument(std::string(name) + ": bad rank");
  out->shape.assign(t.shape, t.shape + t.ndim);
  if (t.strides) {  // row-major compact, ignoring unit dimensions
    int64_t expect = 1;
    for (int d = t.ndim - 1; d >= 0; --d) {
      if (t.shape[d] != 1 && t.strides[d] != expect) {
        return Status::InvalidArgument(std::string(name) + ": expected a contiguous (row-major) tensor");
      }
      expect *= t.shape[d];
    }
  }
  out->data = static_cast<char*>(t.data) + t.byte_offset;
  out->device = t.device.device_id;
  return Status::Ok();
}

}  // namespace cuda
}  // namespace spiralkit

// The CUDA devices: counts, facts read once per device, a scope that makes a device current, and
// one device allocation. Declared without CUDA headers (streams travel as void*); defined in
// device.cu, built only with CUDA. Every CUDA failure becomes Status::RuntimeError with CUDA's message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace spiralkit {
namespace cuda {

struct DeviceFacts {
  int num_sms = 0;
  int max_smem_optin = 0;
  int sm = 0;  // compute capability, major * 10 + minor
};

struct DeviceProperties {
  std::string name;
  int major = 0, minor = 0;
  int multiprocessors = 0;
  int max_smem_optin = 0;
  int64_t total_memory = 0;
};

// 0 devices (not an error) when no driver or no GPU is present.
int device_count();
// Why device_count() is 0, or "" when devices are usable.
std::string device_error();
Status device_facts(int device, DeviceFacts* out);  // cached per device
Status device_properties(int device, DeviceProperties* out);
Status runtime_version(int* out);
Status driver_version(int* out);

// Makes `device` current for a scope; restores the caller's device afterwards.
class DeviceScope {
 public:
  DeviceScope() = default;
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;
  Status enter(int device);
  ~DeviceScope();

 private:
  int prev_ = 0;
  bool switched_ = false;
};

// One device allocation, freed with its owner (on the current device: DeviceWeight frees on its own).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { reset(); }
  void reset();
  Status upload(const void* host, size_t bytes, const char* what);
  template <typename T>
  const T* get() const {
    return static_cast<const T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace cuda
}  // namespace spiralkit

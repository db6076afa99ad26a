#include "cuda/device.h"

#include <cuda_runtime.h>

#include <mutex>
#include <vector>

#include "cuda/status_cuda.h"

namespace spiralkit {
namespace cuda {

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the error so later calls report their own
    return 0;
  }
  return count;
}

std::string device_error() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err == cudaSuccess) return "";
  cudaGetLastError();
  return std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
}

Status device_facts(int device, DeviceFacts* out) {
  static std::mutex mu;
  static std::vector<DeviceFacts> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (device >= 0 && device < static_cast<int>(cache.size()) && cache[device].num_sms > 0) {
    *out = cache[device];
    return Status::Ok();
  }
  int count = 0;
  SK_CUDA(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (device < 0 || device >= count) {
    return Status::InvalidArgument("device: expected a CUDA device index in [0, " + std::to_string(count) + "), got " +
                                   std::to_string(device));
  }
  DeviceFacts f;
  int major = 0, minor = 0;
  SK_CUDA(cudaDeviceGetAttribute(&f.num_sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  SK_CUDA(cudaDeviceGetAttribute(&f.max_smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
          "cudaDeviceGetAttribute");
  SK_CUDA(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
  SK_CUDA(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "cudaDeviceGetAttribute");
  f.sm = major * 10 + minor;
  if (cache.size() <= static_cast<size_t>(device)) cache.resize(device + 1);
  cache[device] = f;
  *out = f;
  return Status::Ok();
}

Status device_properties(int device, DeviceProperties* out) {
  DeviceFacts facts;
  SPIRALKIT_RETURN_IF_ERROR(device_facts(device, &facts));
  cudaDeviceProp prop;
  SK_CUDA(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  out->name = prop.name;
  out->major = prop.major;
  out->minor = prop.minor;
  out->multiprocessors = facts.num_sms;
  out->max_smem_optin = facts.max_smem_optin;
  out->total_memory = static_cast<int64_t>(prop.totalGlobalMem);
  return Status::Ok();
}

Status runtime_version(int* out) { return cuda_status(cudaRuntimeGetVersion(out), "cudaRuntimeGetVersion"); }
Status driver_version(int* out) { return cuda_status(cudaDriverGetVersion(out), "cudaDriverGetVersion"); }

Status DeviceScope::enter(int device) {
  SK_CUDA(cudaGetDevice(&prev_), "cudaGetDevice");
  if (prev_ != device) {
    SK_CUDA(cudaSetDevice(device), "cudaSetDevice(" + std::to_string(device) + ")");
    switched_ = true;
  }
  return Status::Ok();
}

DeviceScope::~DeviceScope() {
  if (switched_) cudaSetDevice(prev_);
}

void DeviceBuffer::reset() {
  // At interpreter exit the runtime may already be unloading: nothing to report then.
  if (ptr_) cudaFree(ptr_);
  ptr_ = nullptr;
  bytes_ = 0;
}

Status DeviceBuffer::upload(const void* host, size_t bytes, const char* what) {
  reset();
  if (bytes == 0) return Status::Ok();
  SK_CUDA(cudaMalloc(&ptr_, bytes), std::string("cudaMalloc of ") + std::to_string(bytes) + " bytes (" + what + ")");
  bytes_ = bytes;
  return cuda_status(cudaMemcpy(ptr_, host, bytes, cudaMemcpyHostToDevice), std::string("cudaMemcpy (") + what + ")");
}

}  // namespace cuda
}  // namespace spiralkit

// cudaError_t -> Status (RuntimeError carrying CUDA's own name and message). CUDA builds only.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "core/status.h"

namespace spiralkit {
namespace cuda {

inline Status cuda_status(cudaError_t err, const std::string& what) {
  if (err == cudaSuccess) return Status::Ok();
  return Status::RuntimeError("CUDA error during " + what + ": " + cudaGetErrorName(err) + ": " +
                              cudaGetErrorString(err));
}

#define SK_CUDA(expr, what) SPIRALKIT_RETURN_IF_ERROR(::spiralkit::cuda::cuda_status((expr), (what)))

}  // namespace cuda
}  // namespace spiralkit

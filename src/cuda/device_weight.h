// A weight resident on one GPU, packed once for the kernel family of its dtype and pattern:
//   float32            the core's reference arrays (dense, CSR, R x 1 / 16x16 BSR, N:M), CUDA cores;
//   float16 / bfloat16 2:4 or 16x16 / 32x32 BSR tensor-core layouts (src/cuda/h16_pack.h), or, for a
//                      pattern without one, nothing on the device (the planner runs it dense);
//   dense_h16          dense fp16 / bf16 filters for the depthwise kernel.
// Built by pack_to_device (device_weight.cu, CUDA builds only).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/pattern.h"
#include "core/status.h"
#include "cuda/device.h"
#include "cuda/formats.h"

namespace spiralkit {
namespace cuda {

class DeviceWeight {
 public:
  int device = 0;
  int64_t rows = 0, cols = 0, nnz = 0;
  Pattern pattern;
  DType dtype = DType::kF32;
  bool has_format = true;  // false: fp16/bf16 weight whose pattern has no tensor-core layout
  Format format = Format::kDense;
  int block_rows = 1, block_cols = 1;
  int64_t entries = 0;    // fp32: stored items the kernel loops over (SpmmArgs::entries)
  int64_t row_tiles = 0;  // fp16/bf16: 16-row tiles (2:4) or block rows (BSR)
  int64_t k_steps = 0;    // fp16/bf16 2:4: 32-column steps
  double density = 1.0;   // stored fraction the planner weighs
  DeviceBuffer values, row_ptr, col_idx, aux;  // aux: N:M offsets (fp32) or 2:4 metadata (fp16/bf16)

  DeviceWeight() = default;
  DeviceWeight(const DeviceWeight&) = delete;
  DeviceWeight& operator=(const DeviceWeight&) = delete;
  ~DeviceWeight();

  int64_t nbytes() const {
    return static_cast<int64_t>(values.bytes() + row_ptr.bytes() + col_idx.bytes() + aux.bytes());
  }
  // The kernel family name spiralkit.cuda reports: dense, csr, bsr, bsr16x16, nm (fp32);
  // nm24, bsr16, bsr32, dense (fp16 / bf16).
  std::string family() const;
};

// Packs a dense row-major rows x cols float32 matrix whose zeros follow `pattern` for `dtype` and
// uploads it to `device`. dense_h16: dense fp16 / bf16 filters for the depthwise kernel instead.
Status pack_to_device(const float* dense, int64_t rows, int64_t cols, const Pattern& pattern, DType dtype,
                      bool dense_h16, int device, std::unique_ptr<DeviceWeight>* out);

}  // namespace cuda
}  // namespace spiralkit

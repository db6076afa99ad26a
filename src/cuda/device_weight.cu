#include "cuda/device_weight.h"

#include <cuda_runtime.h>

#include "cuda/h16_pack.h"
#include "cuda/kernel_choice.h"
#include "sparse/packed_weight.h"

namespace spiralkit {
namespace cuda {

DeviceWeight::~DeviceWeight() {
  // Free on the weight's own device, then give the caller's device back.
  int prev = -1;
  const bool switched = cudaGetDevice(&prev) == cudaSuccess && prev != device && cudaSetDevice(device) == cudaSuccess;
  values.reset();
  row_ptr.reset();
  col_idx.reset();
  aux.reset();
  if (switched) cudaSetDevice(prev);
}

std::string DeviceWeight::family() const {
  if (dtype == DType::kF32) return f32_family_name(format, block_rows, block_cols);
  return has_format ? format_name(format) : "dense";
}

namespace {

Status pack_f32(const float* dense, int64_t rows, int64_t cols, const Pattern& pattern, DeviceWeight* w) {
  std::unique_ptr<PackedWeight> packed;
  SPIRALKIT_RETURN_IF_ERROR(pack_weight(dense, rows, cols, pattern, &packed));  // checks the pattern
  w->nnz = packed->nnz;
  w->format = f32_format(pattern);
  if (w->format == Format::kCsr && pattern.kind == PatternKind::kBlock) {
    Pattern csr;  // block shapes without their own kernel run on CSR, packed as such
    csr.kind = PatternKind::kUnstructured;
    SPIRALKIT_RETURN_IF_ERROR(pack_weight(dense, rows, cols, csr, &packed));
  }
  switch (w->format) {
    case Format::kDense: w->entries = rows * cols; break;
    case Format::kNm: w->entries = static_cast<int64_t>(packed->values.size()) / pattern.nm_n; break;
    default: w->entries = static_cast<int64_t>(packed->col_idx.size()); break;
  }
  w->density = rows > 0 && cols > 0 ? static_cast<double>(w->nnz) / static_cast<double>(rows * cols) : 0.0;
  DeviceScope scope;
  SPIRALKIT_RETURN_IF_ERROR(scope.enter(w->device));
  SPIRALKIT_RETURN_IF_ERROR(w->values.upload(packed->values.data(), packed->values.size() * sizeof(float), "values"));
  SPIRALKIT_RETURN_IF_ERROR(w->row_ptr.upload(packed->row_ptr.data(), packed->row_ptr.size() * sizeof(int32_t), "row_ptr"));
  SPIRALKIT_RETURN_IF_ERROR(w->col_idx.upload(packed->col_idx.data(), packed->col_idx.size() * sizeof(int32_t), "col_idx"));
  return w->aux.upload(packed->nm_offsets.data(), packed->nm_offsets.size(), "nm_offsets");
}

Status pack_h16(const float* dense, int64_t rows, int64_t cols, const Pattern& pattern, bool dense_h16, DeviceWeight* w) {
  // The pattern is checked by the core's packer first (same errors as every other backend).
  std::unique_ptr<PackedWeight> checked;
  SPIRALKIT_RETURN_IF_ERROR(pack_weight(dense, rows, cols, pattern, &checked));
  w->nnz = checked->nnz;
  H16Weight h;
  if (dense_h16) {
    w->format = Format::kDenseH16;
    SPIRALKIT_RETURN_IF_ERROR(pack_dense_h16(dense, rows, cols, w->dtype, &h));
  } else if (!h16_format(pattern, &w->format)) {
    w->has_format = false;  // runs dense through the vendor library; nothing to upload
    w->density = 1.0;
    return Status::Ok();
  } else if (w->format == Format::kNm24) {
    SPIRALKIT_RETURN_IF_ERROR(pack_nm24(dense, rows, cols, w->dtype, &h));
  } else {
    SPIRALKIT_RETURN_IF_ERROR(pack_bsr_h16(dense, rows, cols, w->format == Format::kBsr16 ? 16 : 32, w->dtype, &h));
  }
  w->row_tiles = h.row_tiles;
  w->k_steps = h.k_steps;
  w->density = h.density();
  DeviceScope scope;
  SPIRALKIT_RETURN_IF_ERROR(scope.enter(w->device));
  SPIRALKIT_RETURN_IF_ERROR(w->values.upload(h.values.data(), h.values.size() * sizeof(uint16_t), "values"));
  SPIRALKIT_RETURN_IF_ERROR(w->row_ptr.upload(h.row_ptr.data(), h.row_ptr.size() * sizeof(int32_t), "row_ptr"));
  SPIRALKIT_RETURN_IF_ERROR(w->col_idx.upload(h.col_idx.data(), h.col_idx.size() * sizeof(int32_t), "col_idx"));
  return w->aux.upload(h.meta.data(), h.meta.size() * sizeof(uint32_t), "2:4 metadata");
}

}  // namespace

Status pack_to_device(const float* dense, int64_t rows, int64_t cols, const Pattern& pattern, DType dtype,
                      bool dense_h16, int device, std::unique_ptr<DeviceWeight>* out) {
  DeviceFacts facts;
  SPIRALKIT_RETURN_IF_ERROR(device_facts(device, &facts));  // checks the index
  if (dense_h16 && dtype == DType::kF32) {
    return Status::InvalidArgument("dtype: dense depthwise filters are packed for float16 or bfloat16 only");
  }
  auto w = std::make_unique<DeviceWeight>();
  w->device = device;
  w->rows = rows;
  w->cols = cols;
  w->pattern = pattern;
  w->dtype = dtype;
  w->block_rows = pattern.block_rows;
  w->block_cols = pattern.block_cols;
  SPIRALKIT_RETURN_IF_ERROR(dtype == DType::kF32 ? pack_f32(dense, rows, cols, pattern, w.get())
                                                 : pack_h16(dense, rows, cols, pattern, dense_h16, w.get()));
  *out = std::move(w);
  return Status::Ok();
}

}  // namespace cuda
}  // namespace spiralkit

#include "cuda/run.h"

#include <cuda_runtime.h>

#include "cuda/kernel_table.h"
#include "cuda/status_cuda.h"
#include "kernels/cuda/f32-spmm-cuda.h"
#include "kernels/cuda/h16-cuda.h"

namespace spiralkit {
namespace cuda {

namespace {

// The launch tables: the same rows, in the same order, as kernel_table.cc's KernelRow tables.
using F32Fn = cudaError_t (*)(const SpmmArgs&, cudaStream_t);
using H16Fn = cudaError_t (*)(const H16Args&, cudaStream_t);
#define SPIRALKIT_CUDA_FN(fn, sm, dt, op, fmt, r, c) &fn,
const F32Fn kF32Fns[] = {SPIRALKIT_CUDA_F32_LINEAR_KERNELS(SPIRALKIT_CUDA_FN)};
const H16Fn kH16Fns[] = {SPIRALKIT_CUDA_H16_KERNELS(SPIRALKIT_CUDA_FN)};
#undef SPIRALKIT_CUDA_FN

Status check_device(const DeviceWeight& w, int device, const char* arg) {
  if (device != w.device) {
    return Status::InvalidArgument(std::string(arg) + ": expected a tensor on cuda:" + std::to_string(w.device) +
                                   " (the weight's device), got cuda:" + std::to_string(device));
  }
  return Status::Ok();
}

Status check_row(const DeviceWeight& w, int row, Op op, const DeviceFacts& facts) {
  size_t count = 0;
  const KernelRow* rows = h16_rows(&count);
  if (row < 0 || static_cast<size_t>(row) >= count) return Status::InvalidArgument("kernel: no kernel row " + std::to_string(row));
  const KernelRow& r = rows[row];
  if (r.op != op || r.dtype != w.dtype || r.format != w.format || !w.has_format) {
    return Status::InvalidArgument(std::string("kernel: ") + r.name + " does not take this weight (" +
                                   dtype_name(w.dtype) + ", " + w.family() + ", " + op_name(op) + ")");
  }
  if (facts.sm < r.min_sm) {
    return Status::Unsupported(std::string(r.name) + " needs sm_" + std::to_string(r.min_sm) + ", the device is sm_" +
                               std::to_string(facts.sm));
  }
  return Status::Ok();
}

H16Args weight_args(const DeviceWeight& w) {
  H16Args a;
  a.n = w.rows;
  a.k = w.cols;
  a.values = w.values.get<uint16_t>();
  a.meta = w.aux.get<uint32_t>();
  a.row_ptr = w.row_ptr.get<int32_t>();
  a.col_idx = w.col_idx.get<int32_t>();
  a.row_tiles = w.row_tiles;
  a.k_steps = w.k_steps;
  return a;
}

}  // namespace

const char* h16_kernel_name(int row) {
  size_t count = 0;
  const KernelRow* rows = h16_rows(&count);
  return row >= 0 && static_cast<size_t>(row) < count ? rows[row].name : "dense";
}

Status plan(const DeviceWeight& w, Op op, int64_t m, Mode mode, H16Choice* choice) {
  DeviceFacts facts;
  SPIRALKIT_RETURN_IF_ERROR(device_facts(w.device, &facts));
  H16Problem p;
  p.op = op;
  p.has_format = w.has_format && (op == Op::kDwConv ? w.format == Format::kDenseH16 : w.format != Format::kDenseH16);
  p.format = w.format;
  p.dtype = w.dtype;
  p.density = w.density;
  p.m = m;
  p.n = w.rows;
  p.k = w.cols;
  p.sm = facts.sm;
  p.mode = mode;
  return plan_h16(p, choice);
}

Status run_linear_f32(const DeviceWeight& w, const LinearCall& call, std::string* kernel) {
  SPIRALKIT_RETURN_IF_ERROR(check_device(w, call.device, "x"));
  if (w.dtype != DType::kF32) return Status::InvalidArgument("w: expected a float32 weight");
  if (call.m < 0) return Status::InvalidArgument("x: negative row count " + std::to_string(call.m));
  if (call.activation < 0 || call.activation > 5) {
    return Status::InvalidArgument("activation: unknown code " + std::to_string(call.activation));
  }
  if (call.m == 0) return Status::Ok();
  if (!call.x) return Status::InvalidArgument("x: null device pointer");
  if (!call.y) return Status::InvalidArgument("out: null device pointer");
  DeviceFacts facts;
  SPIRALKIT_RETURN_IF_ERROR(device_facts(w.device, &facts));
  const int row = choose_f32_row(w.format, w.block_rows, w.block_cols, call.m, w.rows, facts.num_sms);
  size_t count = 0;
  const KernelRow* rows = f32_rows(&count);
  if (row < 0) return Status::Unsupported("no fp32 CUDA kernel takes the " + w.family() + " layout");
  DeviceScope scope;
  SPIRALKIT_RETURN_IF_ERROR(scope.enter(w.device));
  SpmmArgs a;
  a.m = call.m;
  a.n = w.rows;
  a.k = w.cols;
  a.x = static_cast<const float*>(call.x);
  a.y = static_cast<float*>(call.y);
  a.bias = static_cast<const float*>(call.bias);
  a.activation = call.activation;
  a.values = w.values.get<float>();
  a.row_ptr = w.row_ptr.get<int32_t>();
  a.col_idx = w.col_idx.get<int32_t>();
  a.nm_offsets = w.aux.get<uint8_t>();
  a.block_rows = w.pattern.block_rows;
  a.block_cols = w.pattern.block_cols;
  a.nm_n = w.pattern.nm_n;
  a.nm_m = w.pattern.nm_m;
  a.entries = w.entries;
  a.num_sms = facts.num_sms;
  a.max_smem_per_block = facts.max_smem_optin;
  *kernel = rows[row].name;
  return cuda_status(kF32Fns[row](a, static_cast<cudaStream_t>(call.stream)), std::string("launch of ") + rows[row].name);
}

Status run_h16_linear(const DeviceWeight& w, int row, const LinearCall& call) {
  SPIRALKIT_RETURN_IF_ERROR(check_device(w, call.device, "x"));
  DeviceFacts facts;
  SPIRALKIT_RETURN_IF_ERROR(device_facts(w.device, &facts));
  SPIRALKIT_RETURN_IF_ERROR(check_row(w, row, Op::kLinear, facts));
  if (call.m < 0) return Status::InvalidArgument("x: negative row count " + std::to_string(call.m));
  if (call.activation < 0 || call.activation > 5) {
    return Status::InvalidArgument("activation: unknown code " + std::to_string(call.activation));
  }
  if (call.m == 0) return Status::Ok();
  if (!call.x || !call.y) return Status::InvalidArgument("x/out: null device pointer");
  H16Args a = weight_args(w);
  a.m = call.m;
  a.x = static_cast<const uint16_t*>(call.x);
  a.y = static_cast<uint16_t*>(call.y);
  a.bias = static_cast<const uint16_t*>(call.bias);
  a.activation = call.activation;
  a.x_aligned = (reinterpret_cast<uintptr_t>(call.x) % 4 == 0) && (w.cols % 2 == 0);
  DeviceScope scope;
  SPIRALKIT_RETURN_IF_ERROR(scope.enter(w.device));
  return cuda_status(kH16Fns[row](a, static_cast<cudaStream_t>(call.stream)),
                     std::string("launch of ") + h16_kernel_name(row));
}

Status run_h16_conv(const DeviceWeight& w, int row, const ConvCall& c) {
  SPIRALKIT_RETURN_IF_ERROR(check_device(w, c.device, "x"));
  DeviceFacts facts;
  SPIRALKIT_RETURN_IF_ERROR(device_facts(w.device, &facts));
  size_t count = 0;
  const KernelRow* rows = h16_rows(&count);
  const Op op = (row >= 0 && static_cast<size_t>(row) < count) ? rows[row].op : Op::kConv;
  SPIRALKIT_RETURN_IF_ERROR(check_row(w, row, op, facts));
  if (op == Op::kLinear) return Status::InvalidArgument("kernel: a linear kernel cannot run a convolution");
  if (c.activation < 0 || c.activation > 5) return Status::InvalidArgument("activation: unknown code " + std::to_string(c.activation));
  if (c.kh < 1 || c.kw < 1 || c.stride_h < 1 || c.stride_w < 1 || c.dil_h < 1 || c.dil_w < 1 || c.pad_h < 0 || c.pad_w < 0) {
    return Status::InvalidArgument("conv: kernel size, stride and dilation must be >= 1, padding >= 0");
  }
  const int64_t k = op == Op::kDwConv ? int64_t(c.kh) * c.kw : c.c_in * c.kh * c.kw;
  if (k != w.cols) {
    return Status::InvalidArgument("x: expected C_in * kh * kw = " + std::to_string(w.cols) + " for this weight, got " +
                                   std::to_string(k));
  }
  if (op == Op::kDwConv && c.c_in != w.rows) {
    return Status::InvalidArgument("x: a depthwise weight of " + std::to_string(w.rows) + " channels got " +
                                   std::to_string(c.c_in) + " input channels");
  }
  H16Args a = weight_args(w);
  a.m = c.batch * c.out_h * c.out_w;
  if (a.m == 0) return Status::Ok();
  if (!c.x || !c.y) return Status::InvalidArgument("x/out: null device pointer");
  a.x = static_cast<const uint16_t*>(c.x);
  a.y = static_cast<uint16_t*>(c.y);
  a.bias = static_cast<const uint16_t*>(c.bias);
  a.activation = c.activation;
  a.batch = c.batch;
  a.c_in = c.c_in;
  a.h = c.h;
  a.w = c.w;
  a.out_h = c.out_h;
  a.out_w = c.out_w;
  a.kh = c.kh;
  a.kw = c.kw;
  a.stride_h = c.stride_h;
  a.stride_w = c.stride_w;
  a.pad_h = c.pad_h;
  a.pad_w = c.pad_w;
  a.dil_h = c.dil_h;
  a.dil_w = c.dil_w;
  DeviceScope scope;
  SPIRALKIT_RETURN_IF_ERROR(scope.enter(w.device));
  return cuda_status(kH16Fns[row](a, static_cast<cudaStream_t>(c.stream)), std::string("launch of ") + h16_kernel_name(row));
}

}  // namespace cuda
}  // namespace spiralkit

#include "cuda/kernel_choice.h"

#include "cuda/kernel_table.h"

namespace spiralkit {
namespace cuda {

Format f32_format(const Pattern& pattern) {
  switch (pattern.kind) {
    case PatternKind::kDense: return Format::kDense;
    case PatternKind::kUnstructured: return Format::kCsr;
    case PatternKind::kNm: return Format::kNm;
    case PatternKind::kBlock: {
      size_t count = 0;
      const KernelRow* rows = f32_rows(&count);
      for (size_t i = 0; i < count; ++i) {
        if (rows[i].format == Format::kBsr && rows[i].block_rows == pattern.block_rows &&
            rows[i].block_cols == pattern.block_cols) {
          return Format::kBsr;
        }
      }
      return Format::kCsr;
    }
  }
  return Format::kCsr;
}

std::string f32_family_name(Format format, int block_rows, int block_cols) {
  if (format == Format::kBsr && block_rows == 16 && block_cols == 16) return "bsr16x16";
  return format_name(format);
}

int choose_f32_row(Format format, int block_rows, int block_cols, int64_t m, int64_t n, int num_sms) {
  size_t count = 0;
  const KernelRow* rows = f32_rows(&count);
  for (size_t i = 0; i < count; ++i) {
    const KernelRow& r = rows[i];
    if (r.format != format) continue;
    if (format == Format::kDense) {
      // A tiled row (tile > 1) only once it has two 64 x 64 tiles per SM to run; else the next row.
      const bool tiled = r.block_rows > 1;
      const int64_t tiles = (m + r.block_rows - 1) / r.block_rows * ((n + r.block_cols - 1) / r.block_cols);
      if (tiled && tiles < 2 * static_cast<int64_t>(num_sms)) continue;
      return static_cast<int>(i);
    }
    if (format == Format::kBsr && (r.block_rows != block_rows || r.block_cols != block_cols)) continue;
    return static_cast<int>(i);
  }
  return -1;
}

bool h16_format(const Pattern& pattern, Format* format) {
  if (pattern.kind == PatternKind::kNm && pattern.nm_n == 2 && pattern.nm_m == 4) {
    *format = Format::kNm24;
    return true;
  }
  if (pattern.kind == PatternKind::kBlock && pattern.block_rows == pattern.block_cols &&
      (pattern.block_rows == 16 || pattern.block_rows == 32)) {
    *format = pattern.block_rows == 16 ? Format::kBsr16 : Format::kBsr32;
    return true;
  }
  return false;
}

namespace {

int find_h16_row(const H16Problem& p) {
  size_t count = 0;
  const KernelRow* rows = h16_rows(&count);
  for (size_t i = 0; i < count; ++i) {
    if (rows[i].op == p.op && rows[i].dtype == p.dtype && (p.op == Op::kDwConv || rows[i].format == p.format)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace

Status plan_h16(const H16Problem& p, H16Choice* choice) {
  choice->row = -1;
  if (p.dtype == DType::kF32) return Status::InvalidArgument("dtype: the tensor-core planner takes float16 or bfloat16");
  if (p.mode == Mode::kDense) {
    choice->reason = "dense requested";
    return Status::Ok();
  }
  const bool sparse_op = p.op != Op::kDwConv;
  const int row = (sparse_op && !p.has_format) ? -1 : find_h16_row(p);
  size_t count = 0;
  const KernelRow* rows = h16_rows(&count);
  std::string why;
  if (row < 0) {
    why = sparse_op ? "the weight's pattern has no tensor-core kernel (2:4, 16x16 and 32x32 do)"
                    : "no depthwise kernel for this dtype";
  } else if (p.sm < rows[row].min_sm) {
    why = std::string(rows[row].name) + " needs sm_" + std::to_string(rows[row].min_sm) + ", the device is sm_" +
          std::to_string(p.sm);
  }
  if (p.mode == Mode::kSparse) {
    if (!why.empty()) return Status::Unsupported("kernel='sparse': " + why);
    choice->row = row;
    choice->reason = "sparse requested";
    return Status::Ok();
  }
  if (!why.empty()) {
    choice->reason = why;
    return Status::Ok();
  }
  if (p.op == Op::kDwConv) {
    choice->reason = "depthwise: cuDNN until the depthwise kernel has been measured against it";
    return Status::Ok();
  }
  if (p.format == Format::kNm24) {
    if (p.m < kNm24MinRows) {
      choice->reason = "2:4 with " + std::to_string(p.m) + " rows (< " + std::to_string(kNm24MinRows) +
                       "): dense cuBLAS";
      return Status::Ok();
    }
  } else if (p.density > kBsrMaxDensity) {
    choice->reason = "block density " + std::to_string(p.density) + " > " + std::to_string(kBsrMaxDensity) +
                     ": dense cuBLAS";
    return Status::Ok();
  }
  choice->row = row;
  choice->reason = "sparse kernel";
  return Status::Ok();
}

}  // namespace cuda
}  // namespace spiralkit

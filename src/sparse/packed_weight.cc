#include "sparse/packed_weight.h"

#include "config/kernel_costs.h"
#include "config/kernel_registry_f16.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

namespace spiralkit {
namespace {

constexpr int64_t kMaxIndex = std::numeric_limits<int32_t>::max();

Status pack_dense(const float* dense, PackedWeight* w) {
  w->values.assign(dense, dense + w->rows * w->cols);
  w->nnz = std::count_if(w->values.begin(), w->values.end(), [](float v) { return v != 0.0f; });
  return Status::Ok();
}

Status pack_csr(const float* dense, PackedWeight* w) {
  w->row_ptr.assign(1, 0);
  for (int64_t n = 0; n < w->rows; ++n) {
    for (int64_t k = 0; k < w->cols; ++k) {
      const float v = dense[n * w->cols + k];
      if (v == 0.0f) continue;
      w->values.push_back(v);
      w->col_idx.push_back(static_cast<int32_t>(k));
    }
    if (static_cast<int64_t>(w->values.size()) > kMaxIndex) {
      return Status::InvalidArgument("weight: more than 2^31-1 non-zeros cannot be packed");
    }
    w->row_ptr.push_back(static_cast<int32_t>(w->values.size()));
  }
  w->nnz = static_cast<int64_t>(w->values.size());
  return Status::Ok();
}

Status pack_bsr(const float* dense, PackedWeight* w) {
  const int r_side = w->pattern.block_rows, c_side = w->pattern.block_cols;
  const int64_t block_rows = (w->rows + r_side - 1) / r_side;
  const int64_t block_cols = (w->cols + c_side - 1) / c_side;
  w->row_ptr.assign(1, 0);
  int64_t nnz = 0;
  for (int64_t br = 0; br < block_rows; ++br) {
    for (int64_t bc = 0; bc < block_cols; ++bc) {
      int64_t block_nnz = 0, block_size = 0;
      for (int r = 0; r < r_side; ++r) {
        const int64_t n = br * r_side + r;
        if (n >= w->rows) break;
        for (int c = 0; c < c_side; ++c) {
          const int64_t k = bc * c_side + c;
          if (k >= w->cols) break;
          ++block_size;
          if (dense[n * w->cols + k] != 0.0f) ++block_nnz;
        }
      }
      if (block_nnz == 0) continue;  // all-zero blocks are simply not stored
      // Blocks are zero or kept together: a partly zero block means the weight was pruned to
      // another pattern, and storing it would waste the block format's speed.
      if (block_nnz != block_size) {
        return Status::InvalidArgument(
            "weight: breaks pattern " + w->pattern.name() + ": block at rows " + std::to_string(br * r_side) + ".." +
            std::to_string(std::min<int64_t>(w->rows, (br + 1) * r_side) - 1) + ", columns " +
            std::to_string(bc * c_side) + ".." + std::to_string(std::min<int64_t>(w->cols, (bc + 1) * c_side) - 1) +
            " is partly zero (" + std::to_string(block_nnz) + " of " + std::to_string(block_size) +
            " non-zero); prune with spiralkit.prune_to_pattern");
      }
      nnz += block_nnz;
      w->col_idx.push_back(static_cast<int32_t>(bc));
      for (int r = 0; r < r_side; ++r) {
        for (int c = 0; c < c_side; ++c) {
          const int64_t n = br * r_side + r, k = bc * c_side + c;
          w->values.push_back(n < w->rows && k < w->cols ? dense[n * w->cols + k] : 0.0f);
        }
      }
    }
    if (static_cast<int64_t>(w->col_idx.size()) > kMaxIndex) {
      return Status::InvalidArgument("weight: more than 2^31-1 blocks cannot be packed");
    }
    w->row_ptr.push_back(static_cast<int32_t>(w->col_idx.size()));
  }
  w->nnz = nnz;
  return Status::Ok();
}

Status pack_nm(const float* dense, PackedWeight* w) {
  const int n_keep = w->pattern.nm_n, m = w->pattern.nm_m;
  const int64_t groups = (w->cols + m - 1) / m;
  w->values.assign(w->rows * groups * n_keep, 0.0f);
  w->nm_offsets.assign(w->rows * groups * n_keep, 0);
  int64_t nnz = 0;
  for (int64_t n = 0; n < w->rows; ++n) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t k0 = g * m;
      const int size = static_cast<int>(std::min<int64_t>(m, w->cols - k0));
      const int64_t slot0 = (n * groups + g) * n_keep;
      int used = 0;
      for (int c = 0; c < size; ++c) {
        const float v = dense[n * w->cols + k0 + c];
        if (v == 0.0f) continue;
        if (used == n_keep) {
          return Status::InvalidArgument(
              "weight: breaks pattern " + w->pattern.name() + ": row " + std::to_string(n) + ", group of columns " +
              std::to_string(k0) + ".." + std::to_string(k0 + size - 1) + " has more than " + std::to_string(n_keep) +
              " non-zeros");
        }
        w->values[slot0 + used] = v;
        w->nm_offsets[slot0 + used] = static_cast<uint8_t>(c);
        ++used;
      }
      nnz += used;
      // Unused slots point at zero columns of the group (distinct when the group has room).
      int next_zero = 0;
      for (int s = used; s < n_keep; ++s) {
        while (next_zero < size - 1 && dense[n * w->cols + k0 + next_zero] != 0.0f) ++next_zero;
        w->nm_offsets[slot0 + s] = static_cast<uint8_t>(next_zero);
        if (next_zero < size - 1) ++next_zero;
      }
    }
  }
  w->nnz = nnz;
  return Status::Ok();
}

}  // namespace

Status validate_pattern(const Pattern& p) {
  switch (p.kind) {
    case PatternKind::kDense:
    case PatternKind::kUnstructured:
      return Status::Ok();
    case PatternKind::kBlock:
      if (p.block_rows < 1 || p.block_cols < 1 || p.block_rows > 4096 || p.block_cols > 4096) {
        return Status::InvalidArgument("pattern: block sides must be in 1..4096, got " + p.name());
      }
      return Status::Ok();
    case PatternKind::kNm:
      if (p.nm_n < 1 || p.nm_n >= p.nm_m || p.nm_m > 255) {
        return Status::InvalidArgument("pattern: N:M needs 1 <= N < M <= 255, got " + p.name());
      }
      return Status::Ok();
  }
  return Status::InvalidArgument("pattern: unknown pattern kind " + std::to_string(static_cast<int>(p.kind)));
}

SparseMatrixView PackedWeight::view() const {
  SparseMatrixView v;
  switch (pattern.kind) {
    case PatternKind::kDense: v.format = Format::kDense; break;
    case PatternKind::kUnstructured: v.format = Format::kCsr; break;
    case PatternKind::kBlock: v.format = Format::kBsr; break;
    case PatternKind::kNm: v.format = Format::kNm; break;
  }
  v.rows = rows;
  v.cols = cols;
  v.block_rows = pattern.block_rows;
  v.block_cols = pattern.block_cols;
  v.nm_n = pattern.nm_n;
  v.nm_m = pattern.nm_m;
  v.values = values.data();
  v.row_ptr = row_ptr.empty() ? nullptr : row_ptr.data();
  v.col_idx = col_idx.empty() ? nullptr : col_idx.data();
  v.nm_offsets = nm_offsets.empty() ? nullptr : nm_offsets.data();
  return v;
}

int64_t PackedWeight::nbytes() const {
  return static_cast<int64_t>(values.size() * sizeof(float) + row_ptr.size() * sizeof(int32_t) +
                              col_idx.size() * sizeof(int32_t) + nm_offsets.size() * sizeof(uint8_t) +
                              f16_vals.size() * sizeof(uint16_t));
}

Status convert_to_float16(PackedWeight* w) {
  if (!select_f16_spmm(w->panels.r)) {
    const CpuFeatures& f = cpu_features();
    return Status::Unsupported(std::string("dtype='float16': needs fp16 arithmetic (AArch64 FEAT_FP16, e.g. ") +
                               "Cortex-A76/A78); this CPU " +
                               (f.has_fp16 ? "has it but SPIRALKIT_ISA='" + f.forced + "' turns it off"
                                           : std::string("has none (active ISA: ") + isa_name(f.active) + ")"));
  }
  const PanelView v = w->panels.view();
  const size_t n = static_cast<size_t>(v.ptr[v.panels]) * static_cast<size_t>(v.r);
  w->f16_vals.resize(n);
  for (size_t i = 0; i < n; ++i) w->f16_vals[i] = f32_to_f16_bits(v.vals[i]);
  w->float16 = true;
  return Status::Ok();
}

void PackedWeight::to_dense(float* out) const {
  std::memset(out, 0, sizeof(float) * rows * cols);
  switch (pattern.kind) {
    case PatternKind::kDense:
      std::memcpy(out, values.data(), sizeof(float) * rows * cols);
      return;
    case PatternKind::kUnstructured:
      for (int64_t n = 0; n < rows; ++n)
        for (int32_t i = row_ptr[n]; i < row_ptr[n + 1]; ++i) out[n * cols + col_idx[i]] = values[i];
      return;
    case PatternKind::kBlock: {
      const int r_side = pattern.block_rows, c_side = pattern.block_cols;
      for (int64_t br = 0; br + 1 < static_cast<int64_t>(row_ptr.size()); ++br)
        for (int32_t b = row_ptr[br]; b < row_ptr[br + 1]; ++b)
          for (int r = 0; r < r_side; ++r)
            for (int c = 0; c < c_side; ++c) {
              const int64_t n = br * r_side + r, k = int64_t(col_idx[b]) * c_side + c;
              if (n < rows && k < cols) out[n * cols + k] = values[(int64_t(b) * r_side + r) * c_side + c];
            }
      return;
    }
    case PatternKind::kNm: {
      const int64_t groups = (cols + pattern.nm_m - 1) / pattern.nm_m;
      for (int64_t n = 0; n < rows; ++n)
        for (int64_t g = 0; g < groups; ++g)
          for (int s = 0; s < pattern.nm_n; ++s) {
            const int64_t slot = (n * groups + g) * pattern.nm_n + s;
            if (values[slot] != 0.0f) out[n * cols + g * pattern.nm_m + nm_offsets[slot]] = values[slot];
          }
      return;
    }
  }
}

const std::vector<float>& PackedWeight::dense_values() const {
  std::call_once(dense_once_, [this] {
    dense_.resize(static_cast<size_t>(rows * cols));
    to_dense(dense_.data());
  });
  return dense_;
}

const std::vector<float>& PackedWeight::winograd_filters() const {
  std::call_once(winograd_once_, [this] {
    // G of F(4x4, 3x3) (interpolation points 0, +-1, +-2 and infinity), applied in double.
    static const double G[6][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                   {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
    const int64_t n_out = rows, c_in = cols / 9;
    const float* g_all = pattern.kind == PatternKind::kDense ? values.data() : dense_values().data();
    winograd_.assign(static_cast<size_t>(36 * c_in * n_out), 0.0f);
    for (int64_t n = 0; n < n_out; ++n)
      for (int64_t c = 0; c < c_in; ++c) {
        const float* g = g_all + (n * c_in + c) * 9;
        double gg[6][3];
        for (int i = 0; i < 6; ++i)
          for (int j = 0; j < 3; ++j) gg[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
        for (int i = 0; i < 6; ++i)
          for (int j = 0; j < 6; ++j)
            winograd_[static_cast<size_t>(((i * 6 + j) * c_in + c) * n_out + n)] =
                static_cast<float>(gg[i][0] * G[j][0] + gg[i][1] * G[j][1] + gg[i][2] * G[j][2]);
      }
  });
  return winograd_;
}

const PanelPack& PackedWeight::dense_panels() const {
  if (pattern.kind == PatternKind::kDense) return panels;
  std::call_once(dense_panels_once_, [this] {
    build_panels(dense_values().data(), rows, cols, 8, true, &dense_panels_);
  });
  return dense_panels_;
}

const ConvOffsets& PackedWeight::conv_offsets(const PanelPack& src, int64_t hq, int64_t wq, int kh, int kw,
                                              int dil_h, int dil_w, int stride_h, int stride_w) const {
  std::lock_guard<std::mutex> lock(conv_mutex_);
  for (const auto& o : conv_offsets_)
    if (o->src == &src && o->hq == hq && o->wq == wq && o->kh == kh && o->kw == kw && o->dil_h == dil_h &&
        o->dil_w == dil_w && o->stride_h == stride_h && o->stride_w == stride_w)
      return *o;
  // Never evicted: callers hold references; a layer sees one or two input sizes in practice.
  auto o = std::make_unique<ConvOffsets>();
  o->src = &src;
  o->hq = hq;
  o->wq = wq;
  o->kh = kh;
  o->kw = kw;
  o->dil_h = dil_h;
  o->dil_w = dil_w;
  o->stride_h = stride_h;
  o->stride_w = stride_w;
  build_conv_offsets(o.get());
  conv_offsets_.push_back(std::move(o));
  return *conv_offsets_.back();
}

Status pack_weight(const float* dense, int64_t rows, int64_t cols, const Pattern& pattern,
                   std::unique_ptr<PackedWeight>* out) {
  SPIRALKIT_RETURN_IF_ERROR(validate_pattern(pattern));
  if (rows < 1 || cols < 1) {
    return Status::InvalidArgument("weight: expected a non-empty matrix, got " + std::to_string(rows) + "x" +
                                   std::to_string(cols));
  }
  if (rows > kMaxIndex || cols > kMaxIndex) {
    return Status::InvalidArgument("weight: dimensions above 2^31-1 are not supported");
  }
  auto w = std::make_unique<PackedWeight>();
  w->pattern = pattern;
  w->rows = rows;
  w->cols = cols;
  Status st;
  switch (pattern.kind) {
    case PatternKind::kDense: st = pack_dense(dense, w.get()); break;
    case PatternKind::kUnstructured: st = pack_csr(dense, w.get()); break;
    case PatternKind::kBlock: st = pack_bsr(dense, w.get()); break;
    case PatternKind::kNm: st = pack_nm(dense, w.get()); break;
  }
  if (!st.ok()) return st;
  // Panel height the fast kernels use for this pattern: Rx1-style blocks keep 8 or 4 rows.
  int r = 1;
  if (pattern.kind == PatternKind::kDense) r = 8;
  if (pattern.kind == PatternKind::kBlock) r = pattern.block_rows % 8 == 0 ? 8 : (pattern.block_rows % 4 == 0 ? 4 : 1);
  build_panels(dense, rows, cols, r, pattern.kind == PatternKind::kDense, &w->panels);
  if (r == 1) {  // row pairs beat CSR once enough pairs share columns (see config/kernel_costs.h)
    PanelPack pairs;
    build_panels(dense, rows, cols, 2, false, &pairs);
    constexpr int64_t kManyRows = 128;  // packed for the compute-bound case
    if (double(pairs.blocks()) * 2 * kernel_value_cost(2, kManyRows) <
        double(w->panels.blocks()) * kernel_value_cost(1, kManyRows)) {
      w->csr_panels_ = std::move(w->panels);
      w->panels = std::move(pairs);
    }
  }
  *out = std::move(w);
  return Status::Ok();
}

}  // namespace spiralkit

// PackedWeight owns a weight packed in its pattern's reference format (see
// kernels/include/spiralkit_kernels/sparse_matrix.h). Faster kernel families add their own
// packed layouts beside it, produced once at pack time.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "core/pattern.h"
#include "core/status.h"
#include "sparse/kernel_pack.h"
#include "spiralkit_kernels/sparse_matrix.h"

namespace spiralkit {

struct PackedWeight {
  Pattern pattern;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t nnz = 0;  // non-zero values (padding zeros excluded)
  std::vector<float> values;
  std::vector<int32_t> row_ptr;
  std::vector<int32_t> col_idx;
  std::vector<uint8_t> nm_offsets;
  // The fast kernels' panels for this pattern, built by pack_weight: 4x1/8x1-style blocks keep their
  // height; other patterns become CSR (R = 1) or zero-padded row pairs (R = 2), whichever the
  // kernel costs make cheaper for many activation rows.
  PanelPack panels;
  // What GEMV runs: `panels`, or CSR when `panels` are row pairs (no GEMV kernel for R = 2).
  const PanelPack& gemv_panels() const { return panels.r == 2 ? csr_panels_ : panels; }

  // float16 (pack(..., dtype="float16")): fp16 copies of `panels.vals`, same block order, run by
  // the f16-spmm kernels (src/ops/linear_f16.h). The fp32 arrays stay (to_dense, artifacts).
  bool float16 = false;
  std::vector<uint16_t> f16_vals;

  SparseMatrixView view() const;
  // Dense 8x1 panels for the dense fallback, built on first use (thread-safe) and kept.
  const PanelPack& dense_panels() const;
  // Dense row-major values, built on first use and kept (depthwise conv reads it).
  const std::vector<float>& dense_values() const;
  // Offsets of `src` (panels or dense_panels()) for a conv on hq x wq phase planes (see
  // ConvOffsets); built on first use per geometry and kept.
  const ConvOffsets& conv_offsets(const PanelPack& src, int64_t hq, int64_t wq, int kh, int kw, int dil_h,
                                  int dil_w, int stride_h, int stride_w) const;
  // Winograd F(4x4, 3x3) filters U[36][C][N] (G g G^T per filter) of a 3x3 weight of N rows and
  // C * 9 columns; built on first use (thread-safe) and kept.
  const std::vector<float>& winograd_filters() const;
  // Real bytes of every stored array (values + indices).
  int64_t nbytes() const;
  // Writes the dense rows x cols matrix; exact inverse of pack_weight.
  void to_dense(float* out) const;

 private:
  friend Status pack_weight(const float*, int64_t, int64_t, const Pattern&, std::unique_ptr<PackedWeight>*);
  PanelPack csr_panels_;  // only when panels.r == 2
  mutable std::once_flag dense_once_, dense_panels_once_, winograd_once_;
  mutable std::vector<float> winograd_;
  mutable std::vector<float> dense_;
  mutable PanelPack dense_panels_;
  mutable std::mutex conv_mutex_;
  mutable std::vector<std::unique_ptr<ConvOffsets>> conv_offsets_;
};

// Packs a dense row-major rows x cols matrix whose zeros follow `pattern`. Refuses (InvalidArgument)
// a weight that breaks the pattern, naming the first offending block or group.
Status pack_weight(const float* dense, int64_t rows, int64_t cols, const Pattern& pattern,
                   std::unique_ptr<PackedWeight>* out);

// Makes `w` a float16 weight (fills f16_vals from its panels). Unsupported where the CPU has no
// fp16 arithmetic (AArch64 FEAT_FP16: Cortex-A76/A78; not A72, not x86) or SPIRALKIT_ISA lowers it.
Status convert_to_float16(PackedWeight* w);

// Checks a pattern's numbers (block sides, N < M <= 255).
Status validate_pattern(const Pattern& pattern);

}  // namespace spiralkit

namespace spiralkit {

// The dense matrix of a weight given as its reference arrays (what an artifact stores), after
// checking every size and index against the pattern: a corrupt array is FormatError, never an
// out-of-bounds read.
Status dense_from_reference(const Pattern& pattern, int64_t rows, int64_t cols, const std::vector<float>& values,
                            const std::vector<int32_t>& row_ptr, const std::vector<int32_t>& col_idx,
                            const std::vector<uint8_t>& nm_offsets, std::vector<float>* dense);

}  // namespace spiralkit

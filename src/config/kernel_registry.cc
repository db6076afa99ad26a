#include "config/kernel_registry.h"

namespace spiralkit {

#define SPIRALKIT_ROW(fn, isa, r, tile) {#fn, Isa::isa, r, tile, &fn},

const std::vector<SpmmRow>& spmm_table() {
  static const std::vector<SpmmRow> t = {SPIRALKIT_F32_SPMM_KERNELS(SPIRALKIT_ROW)};
  return t;
}
const std::vector<SpmvRow>& spmv_table() {
  static const std::vector<SpmvRow> t = {SPIRALKIT_F32_SPMV_KERNELS(SPIRALKIT_ROW)};
  return t;
}
const std::vector<TransposeRow>& transpose_table() {
  static const std::vector<TransposeRow> t = {SPIRALKIT_F32_TRANSPOSE_KERNELS(SPIRALKIT_ROW)};
  return t;
}
const std::vector<DwConvRow>& dwconv_table() {
  static const std::vector<DwConvRow> t = {SPIRALKIT_F32_DWCONV_KERNELS(SPIRALKIT_ROW)};
  return t;
}

const std::vector<GemvRow>& gemv_table() {
  static const std::vector<GemvRow> t = {SPIRALKIT_F32_GEMV_KERNELS(SPIRALKIT_ROW)};
  return t;
}

const std::vector<GemmRow>& gemm_table() {
  static const std::vector<GemmRow> t = {SPIRALKIT_F32_GEMM_KERNELS(SPIRALKIT_ROW)};
  return t;
}
const std::vector<VUnaryRow>& vunary_table() {
  static const std::vector<VUnaryRow> t = {SPIRALKIT_F32_VUNARY_KERNELS(SPIRALKIT_ROW)};
  return t;
}

const std::vector<SoftmaxRow>& softmax_table() {
  static const std::vector<SoftmaxRow> t = {SPIRALKIT_F32_SOFTMAX_KERNELS(SPIRALKIT_ROW)};
  return t;
}

const std::vector<WinogradRow>& winograd_table() {
  static const std::vector<WinogradRow> t = {SPIRALKIT_F32_WINOGRAD_KERNELS(SPIRALKIT_ROW)};
  return t;
}

// Chosen once per process (the active ISA never changes after detection).
const SpmmRow* select_spmm(int r) {
  static const SpmmRow* rows[9] = {nullptr, first_allowed(spmm_table(), 1), first_allowed(spmm_table(), 2), nullptr,
                                   first_allowed(spmm_table(), 4), nullptr, nullptr, nullptr,
                                   first_allowed(spmm_table(), 8)};
  return rows[r];
}
const SpmvRow* select_spmv(int r) {
  static const SpmvRow* rows[9] = {nullptr, first_allowed(spmv_table(), 1), nullptr, nullptr, first_allowed(spmv_table(), 4),
                                   nullptr, nullptr, nullptr, first_allowed(spmv_table(), 8)};
  return rows[r];
}
const TransposeRow* select_transpose() {
  static const TransposeRow* row = first_allowed(transpose_table(), -1);
  return row;
}
const GemvRow* select_gemv() {
  static const GemvRow* row = first_allowed(gemv_table(), -1);
  return row;
}
const GemmRow* select_gemm() {
  static const GemmRow* row = first_allowed(gemm_table(), -1);
  return row;
}
const VUnaryRow* select_vunary() {
  static const VUnaryRow* row = first_allowed(vunary_table(), -1);
  return row;
}
const SoftmaxRow* select_softmax() {
  static const SoftmaxRow* row = first_allowed(softmax_table(), -1);
  return row;
}
const WinogradRow* select_winograd() {
  static const WinogradRow* row = first_allowed(winograd_table(), -1);
  return row;
}
const DwConvRow* select_dwconv() {
  static const DwConvRow* row = first_allowed(dwconv_table(), -1);
  return row;
}

const std::vector<DwCbRow>& dwconvcb_table() {
  static const std::vector<DwCbRow> t = {SPIRALKIT_F32_DWCONVCB_KERNELS(SPIRALKIT_ROW)};
  return t;
}
const DwCbRow* select_dwconvcb() {
  static const DwCbRow* row = first_allowed(dwconvcb_table(), -1);
  return row;
}

}  // namespace spiralkit

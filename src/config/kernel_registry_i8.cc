#include "config/kernel_registry_i8.h"

namespace spiralkit {
namespace {

template <typename Row>
const Row* by_name(const std::vector<Row>& table, const std::string& name) {
  for (const auto& row : table)
    if (name == row.name) return &row;
  return nullptr;
}

}  // namespace

#define SPIRALKIT_QS8_ROW(fn, isa, r, tile) {#fn, Isa::isa, r, tile, &fn},

const std::vector<QSpmmRow>& qs8_spmm_table() {
  static const std::vector<QSpmmRow> t = {SPIRALKIT_QS8_SPMM_KERNELS(SPIRALKIT_QS8_ROW)};
  return t;
}
const std::vector<QSpmmRow>& qs8_gemm_table() {
  static const std::vector<QSpmmRow> t = {SPIRALKIT_QS8_GEMM_KERNELS(SPIRALKIT_QS8_ROW)};
  return t;
}
const std::vector<QGemvRow>& qs8_spmv_table() {
  static const std::vector<QGemvRow> t = {SPIRALKIT_QS8_SPMV_KERNELS(SPIRALKIT_QS8_ROW)};
  return t;
}
const std::vector<QGemvRow>& qs8_gemv_table() {
  static const std::vector<QGemvRow> t = {SPIRALKIT_QS8_GEMV_KERNELS(SPIRALKIT_QS8_ROW)};
  return t;
}
const std::vector<QDwConvRow>& qs8_dwconv_table() {
  static const std::vector<QDwConvRow> t = {SPIRALKIT_QS8_DWCONV_KERNELS(SPIRALKIT_QS8_ROW)};
  return t;
}

// Chosen once per process (the active ISA never changes after detection).
const QSpmmRow* select_qs8_spmm(int r) {
  static const QSpmmRow* r1 = first_allowed(qs8_spmm_table(), 1);
  static const QSpmmRow* r4 = first_allowed(qs8_spmm_table(), 4);
  return r == 4 ? r4 : r1;
}
const QSpmmRow* select_qs8_gemm() {
  static const QSpmmRow* row = first_allowed(qs8_gemm_table(), -1);
  return row;
}
const QGemvRow* select_qs8_spmv() {
  static const QGemvRow* row = first_allowed(qs8_spmv_table(), -1);
  return row;
}
const QGemvRow* select_qs8_gemv() {
  static const QGemvRow* row = first_allowed(qs8_gemv_table(), -1);
  return row;
}
const std::vector<QU8QuantRow>& qu8_vquant_table() {
  static const std::vector<QU8QuantRow> t = {SPIRALKIT_QU8_VQUANT_KERNELS(SPIRALKIT_QS8_ROW)};
  return t;
}
const QU8QuantRow* select_qu8_vquant() {
  static const QU8QuantRow* row = first_allowed(qu8_vquant_table(), -1);
  return row;
}
const QDwConvRow* select_qs8_dwconv() {
  static const QDwConvRow* row = first_allowed(qs8_dwconv_table(), -1);
  return row;
}

Status find_qs8_kernel(const std::string& name, const QSpmmRow** spmm, const QGemvRow** gemv) {
  if (spmm) *spmm = nullptr;
  if (gemv) *gemv = nullptr;
  const QSpmmRow* s = by_name(qs8_spmm_table(), name);
  if (!s) s = by_name(qs8_gemm_table(), name);
  const QGemvRow* g = by_name(qs8_spmv_table(), name);
  if (!g) g = by_name(qs8_gemv_table(), name);
  if (!s && !g) return Status::InvalidArgument("kernel: no int8 kernel named '" + name + "'");
  const Isa isa = s ? s->isa : g->isa;
  if (!isa_allows(isa))
    return Status::Unsupported("kernel '" + name + "' needs " + isa_name(isa) + ", which " +
                               (cpu_features().forced.empty() ? std::string("this CPU lacks")
                                                              : "SPIRALKIT_ISA=" + cpu_features().forced + " excludes"));
  if (spmm) *spmm = s;
  if (gemv) *gemv = g;
  return Status::Ok();
}

}  // namespace spiralkit

#include "config/kernel_registry_f16.h"

namespace spiralkit {

const std::vector<F16SpmmRow>& f16_spmm_table() {
#define SPIRALKIT_F16_ROW(fn, isa, r, tile) {#fn, Isa::isa, r, tile, &fn},
  static const std::vector<F16SpmmRow> t = {SPIRALKIT_F16_SPMM_KERNELS(SPIRALKIT_F16_ROW)};
#undef SPIRALKIT_F16_ROW
  return t;
}

const F16SpmmRow* select_f16_spmm(int r) {
  for (const auto& row : f16_spmm_table())
    if (row.r == r && isa_allows(row.isa)) return &row;
  return nullptr;
}

}  // namespace spiralkit

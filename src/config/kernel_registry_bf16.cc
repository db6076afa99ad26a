#include "config/kernel_registry_bf16.h"

namespace spiralkit {

#define SPIRALKIT_BF16_ROW(fn, isa, r, tile) {#fn, Isa::isa, r, tile, &fn},
const std::vector<Bf16GemmRow>& bf16_gemm_table() {
  static const std::vector<Bf16GemmRow> t = {SPIRALKIT_BF16_GEMM_KERNELS(SPIRALKIT_BF16_ROW)};
  return t;
}
const std::vector<Bf16PackRow>& bf16_pack_table() {
  static const std::vector<Bf16PackRow> t = {SPIRALKIT_BF16_PACK_KERNELS(SPIRALKIT_BF16_ROW)};
  return t;
}
const std::vector<Bf16SoftmaxRow>& bf16_softmax_table() {
  static const std::vector<Bf16SoftmaxRow> t = {SPIRALKIT_BF16_SOFTMAX_KERNELS(SPIRALKIT_BF16_ROW)};
  return t;
}
#undef SPIRALKIT_BF16_ROW

const Bf16GemmRow* select_bf16_gemm() {
  static const Bf16GemmRow* row = first_allowed(bf16_gemm_table(), -1);
  return row;
}
const Bf16PackRow* select_bf16_pack() {
  static const Bf16PackRow* row = first_allowed(bf16_pack_table(), -1);
  return row;
}

const Bf16SoftmaxRow* select_bf16_softmax() {
  static const Bf16SoftmaxRow* row = first_allowed(bf16_softmax_table(), -1);
  return row;
}

}  // namespace spiralkit

// The bf16-gemm, bf16-pack and bf16-softmax tables (spiralkit_kernels/bf16.h), kept beside the f32 registry:
// rows exist only on x86 and run only where AVX512_BF16 is present and allowed.
#pragma once

#include <vector>

#include "config/kernel_registry.h"
#include "spiralkit_kernels/bf16.h"

namespace spiralkit {

using Bf16GemmRow = KernelRow<Bf16GemmFn>;
using Bf16PackRow = KernelRow<Bf16PackFn>;
using Bf16SoftmaxRow = KernelRow<Bf16SoftmaxFn>;

const std::vector<Bf16GemmRow>& bf16_gemm_table();
const std::vector<Bf16PackRow>& bf16_pack_table();
const std::vector<Bf16SoftmaxRow>& bf16_softmax_table();
// Best allowed rows, or null: no bf16 arithmetic on this CPU (or under SPIRALKIT_ISA below avx512).
const Bf16GemmRow* select_bf16_gemm();
const Bf16PackRow* select_bf16_pack();
const Bf16SoftmaxRow* select_bf16_softmax();

}  // namespace spiralkit

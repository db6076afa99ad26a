// The f16-spmm table (kernel-list.h SPIRALKIT_F16_SPMM_KERNELS), kept beside the f32 registry:
// rows exist only on AArch64 and run only where FEAT_FP16 is present and allowed.
#pragma once

#include <vector>

#include "config/kernel_registry.h"

namespace spiralkit {

using F16SpmmRow = KernelRow<F16SpmmFn>;

const std::vector<F16SpmmRow>& f16_spmm_table();
// Best allowed row for block height r (1, 2, 4, 8), or null: no fp16 arithmetic on this CPU.
const F16SpmmRow* select_f16_spmm(int r);

}  // namespace spiralkit

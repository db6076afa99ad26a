// The int8 registry: one table per qs8 kernel family, expanded from
// kernels/include/spiralkit_kernels/kernel-list-i8.h. Dispatch = the first row (best first) whose
// ISA the active level allows and whose block height fits; tests and benchmarks iterate tables.
#pragma once

#include <string>
#include <vector>

#include "config/kernel_registry.h"
#include "core/status.h"
#include "spiralkit_kernels/kernel-list-i8.h"

namespace spiralkit {

using QSpmmRow = KernelRow<QSpmmFn>;
using QGemvRow = KernelRow<QGemvFn>;
using QDwConvRow = KernelRow<QDwConvFn>;
using QU8QuantRow = KernelRow<QU8QuantFn>;

const std::vector<QSpmmRow>& qs8_spmm_table();
const std::vector<QSpmmRow>& qs8_gemm_table();
const std::vector<QGemvRow>& qs8_spmv_table();
const std::vector<QGemvRow>& qs8_gemv_table();
const std::vector<QDwConvRow>& qs8_dwconv_table();
const std::vector<QU8QuantRow>& qu8_vquant_table();

// Best allowed row (spmm: r in {1, 4}); never null (scalar rows end each table).
const QSpmmRow* select_qs8_spmm(int r);
const QSpmmRow* select_qs8_gemm();
const QGemvRow* select_qs8_spmv();
const QGemvRow* select_qs8_gemv();
const QDwConvRow* select_qs8_dwconv();
const QU8QuantRow* select_qu8_vquant();

// A row asked for by name (benchmarks, tests, a forced choice): Unsupported when this CPU (or the
// SPIRALKIT_ISA level) lacks its instruction set, InvalidArgument when no row has that name.
Status find_qs8_kernel(const std::string& name, const QSpmmRow** spmm, const QGemvRow** gemv);

}  // namespace spiralkit

// The registry: one table per kernel family, expanded from kernels/include/.../kernel-list.h.
// Dispatch = the first row (best first) whose ISA the active level allows and whose block
// height R fits; tests and benchmarks iterate the whole table.
#pragma once

#include <vector>

#include "hw/cpu_features.h"
#include "spiralkit_kernels/f32-dwconvcb.h"
#include "spiralkit_kernels/kernel-list.h"

namespace spiralkit {

template <typename Fn>
struct KernelRow {
  const char* name;
  Isa isa;
  int r;     // block rows (spmm/spmv); tile rows for transpose
  int tile;  // M columns per register tile (spmm), lanes otherwise
  Fn fn;
};

// The first row (best first) of `table` the active ISA allows, with block height r (any when
// r < 0); null when none. Every registry's dispatch goes through it.
template <typename Row>
const Row* first_allowed(const std::vector<Row>& table, int r) {
  for (const auto& row : table)
    if ((r < 0 || row.r == r) && isa_allows(row.isa)) return &row;
  return nullptr;
}

using SpmmRow = KernelRow<SpmmXtFn>;
using SpmvRow = KernelRow<SpmvFn>;
using TransposeRow = KernelRow<TransposeFn>;
using DwConvRow = KernelRow<DwConvFn>;
using GemvRow = KernelRow<GemvFn>;
using GemmRow = KernelRow<GemmFn>;
using VUnaryRow = KernelRow<VUnaryFn>;
using SoftmaxRow = KernelRow<SoftmaxFn>;
using WinogradRow = KernelRow<WinogradFn>;
using DwCbRow = KernelRow<DwCbFn>;  // tile = channels per block

const std::vector<SpmmRow>& spmm_table();
const std::vector<SpmvRow>& spmv_table();
const std::vector<TransposeRow>& transpose_table();
const std::vector<DwConvRow>& dwconv_table();
const std::vector<GemvRow>& gemv_table();
const std::vector<GemmRow>& gemm_table();
const std::vector<VUnaryRow>& vunary_table();
const std::vector<SoftmaxRow>& softmax_table();
const std::vector<WinogradRow>& winograd_table();
const std::vector<DwCbRow>& dwconvcb_table();

// Best allowed row for block height r (spmm: r in {1, 2, 4, 8}; spmv: {1, 4, 8}); never null
// (scalar rows end each table).
const SpmmRow* select_spmm(int r);
const SpmvRow* select_spmv(int r);
const TransposeRow* select_transpose();
const DwConvRow* select_dwconv();
const GemvRow* select_gemv();
const GemmRow* select_gemm();
const VUnaryRow* select_vunary();
const SoftmaxRow* select_softmax();
const WinogradRow* select_winograd();
const DwCbRow* select_dwconvcb();

}  // namespace spiralkit

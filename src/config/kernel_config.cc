#include "config/kernel_config.h"

#include "config/kernel_registry.h"

namespace spiralkit {

// One entry per family; a family with one kernel per block height lists them, tallest first.
std::vector<KernelChoice> kernel_choices() {
  std::vector<KernelChoice> out;
  const SpmmRow* mm[4] = {select_spmm(8), select_spmm(4), select_spmm(2), select_spmm(1)};
  out.push_back({"f32-spmm", std::string(mm[0]->name) + "," + mm[1]->name + "," + mm[2]->name + "," + mm[3]->name,
                 isa_name(mm[0]->isa)});
  const SpmvRow* mv[3] = {select_spmv(8), select_spmv(4), select_spmv(1)};
  out.push_back({"f32-spmv", std::string(mv[0]->name) + "," + mv[1]->name + "," + mv[2]->name, isa_name(mv[0]->isa)});
  // Convolutions are drivers over f32-spmm (1x1: NCHW as is; stride 1: padded planes; else im2col).
  out.push_back({"f32-sconv", "f32-spmm on NCHW / padded planes / spiralkit_f32_im2col_ukernel__scalar tiles",
                 isa_name(mm[0]->isa)});
  out.push_back({"f32-gemv", select_gemv()->name, isa_name(select_gemv()->isa)});
  out.push_back({"f32-dwconv", select_dwconv()->name, isa_name(select_dwconv()->isa)});
  out.push_back({"f32-gemm", select_gemm()->name, isa_name(select_gemm()->isa)});
  out.push_back({"f32-vunary", select_vunary()->name, isa_name(select_vunary()->isa)});
  out.push_back({"f32-softmax", select_softmax()->name, isa_name(select_softmax()->isa)});
  out.push_back({"f32-transpose", select_transpose()->name, isa_name(select_transpose()->isa)});
  return out;
}

}  // namespace spiralkit

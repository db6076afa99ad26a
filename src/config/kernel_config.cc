#include "config/kernel_config.h"

#include "config/kernel_registry.h"

namespace spiralkit {

std::vector<KernelChoice> kernel_choices() {
  std::vector<KernelChoice> out;
  for (int r : {8, 4, 1}) {
    const SpmmRow* s = select_spmm(r);
    out.push_back({"f32-spmm-" + std::to_string(r) + "x1", s->name, isa_name(s->isa)});
  }
  for (int r : {8, 4, 1}) {
    const SpmvRow* s = select_spmv(r);
    out.push_back({"f32-spmv-" + std::to_string(r) + "x1", s->name, isa_name(s->isa)});
  }
  out.push_back({"f32-transpose", select_transpose()->name, isa_name(select_transpose()->isa)});
  out.push_back({"f32-dwconv", select_dwconv()->name, isa_name(select_dwconv()->isa)});
  out.push_back({"f32-im2col", "spiralkit_f32_im2col_ukernel__scalar", "scalar"});
  return out;
}

}  // namespace spiralkit

#include "config/kernel_config.h"

namespace spiralkit {

std::vector<KernelChoice> kernel_choices() {
  return {
      {"f32-spmm", "spiralkit_f32_spmm_ukernel__reference", "scalar"},
      {"f32-sconv", "spiralkit_f32_sconv_ukernel__reference", "scalar"},
  };
}

}  // namespace spiralkit

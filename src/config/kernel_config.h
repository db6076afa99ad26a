// The kernel each family uses on this machine, chosen once from the active ISA (src/hw).
#pragma once

#include <string>
#include <vector>

namespace spiralkit {

struct KernelChoice {
  std::string family;  // e.g. "f32-spmm"
  std::string kernel;  // function name, e.g. "spiralkit_f32_spmm_ukernel__reference"
  std::string isa;     // ISA the kernel needs
};

// One entry per family, for spiralkit.info() and the log.
std::vector<KernelChoice> kernel_choices();

}  // namespace spiralkit

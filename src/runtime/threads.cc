#include "runtime/threads.h"

#include <atomic>

#include "hw/cpu_features.h"

namespace spiralkit {
namespace {
std::atomic<int> g_threads{0};  // 0 = not set yet: use the physical cores
}

void set_num_threads(int n) { g_threads.store(n > 0 ? n : 1); }

int get_num_threads() {
  const int n = g_threads.load();
  return n > 0 ? n : cpu_features().physical_cores;
}

}  // namespace spiralkit

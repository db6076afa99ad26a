#include "hw/cpu_features.h"

#include <sched.h>
#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

namespace spiralkit {
namespace {

// Physical cores among the CPUs this process may run on (hyper-threads share a core).
int count_physical_cores(int* logical) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    *logical = static_cast<int>(std::thread::hardware_concurrency());
    return *logical > 0 ? *logical : 1;
  }
  std::set<std::pair<std::string, std::string>> cores;
  int n_logical = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    ++n_logical;
    const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::ifstream pkg(base + "physical_package_id"), core(base + "core_id");
    std::string p, c;
    if (!(pkg >> p) || !(core >> c)) {
      p = "cpu";
      c = std::to_string(cpu);
    }
    cores.insert({p, c});
  }
  *logical = n_logical > 0 ? n_logical : 1;
  return cores.empty() ? *logical : static_cast<int>(cores.size());
}

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.has_fma = __builtin_cpu_supports("fma");
  const bool avx2 = __builtin_cpu_supports("avx2") && f.has_fma;
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  f.has_avx512_vnni = avx512 && __builtin_cpu_supports("avx512vnni");
  f.has_avx_vnni = avx2 && __builtin_cpu_supports("avxvnni");
  f.has_avx512_bf16 = avx512 && __builtin_cpu_supports("avx512bf16");
  f.detected = avx512 && avx2 ? Isa::kAvx512 : (avx2 ? Isa::kAvx2 : Isa::kScalar);
#elif defined(__aarch64__)
  f.detected = Isa::kNeon;  // NEON is mandatory on AArch64
  const unsigned long hwcap = getauxval(AT_HWCAP);
  f.has_fma = true;
  f.has_fp16 = (hwcap & HWCAP_FPHP) && (hwcap & HWCAP_ASIMDHP);
  f.has_dotprod = hwcap & HWCAP_ASIMDDP;
#endif
  f.active = f.detected;
  if (const char* env = std::getenv("SPIRALKIT_ISA")) {
    f.forced = env;
    Isa want = f.detected;
    bool known = true;
    if (f.forced == "scalar") want = Isa::kScalar;
    else if (f.forced == "avx2") want = Isa::kAvx2;
    else if (f.forced == "avx512") want = Isa::kAvx512;
    else if (f.forced == "neon") want = Isa::kNeon;
    else if (f.forced == "neonfp16") want = f.has_fp16 ? Isa::kNeon : Isa::kNeonFp16;  // fp16 rows need FEAT_FP16
    else known = false;
    const bool same_family = want == Isa::kScalar || (want == Isa::kNeon) == (f.detected == Isa::kNeon);
    if (!known) {
      f.note = "SPIRALKIT_ISA='" + f.forced + "' is not one of scalar|avx2|avx512|neon|neonfp16; using " +
               isa_name(f.detected);
    } else if (want == Isa::kNeonFp16 || !same_family || static_cast<int>(want) > static_cast<int>(f.detected)) {
      f.note = "SPIRALKIT_ISA='" + f.forced + "' is not available on this CPU; using " + isa_name(f.detected);
    } else {
      f.active = want;
    }
  }
  f.physical_cores = count_physical_cores(&f.logical_cpus);
  return f;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kNeon: return "neon";
    case Isa::kAvx512Vnni: return "avx512vnni";
    case Isa::kAvxVnni: return "avxvnni";
    case Isa::kNeonFp16: return "neonfp16";
    case Isa::kNeonDot: return "neondot";
    case Isa::kAvx512Bf16: return "avx512bf16";
  }
  return "?";
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

bool isa_allows(Isa needed) {
  const CpuFeatures& f = cpu_features();
  const Isa active = f.active;
  switch (needed) {
    case Isa::kAvx512Vnni: return f.has_avx512_vnni && isa_allows(Isa::kAvx512);
    case Isa::kAvxVnni: return f.has_avx_vnni && isa_allows(Isa::kAvx2);
    case Isa::kAvx512Bf16: return f.has_avx512_bf16 && isa_allows(Isa::kAvx512);
    case Isa::kNeonFp16: return f.has_fp16 && active == Isa::kNeon;
    case Isa::kNeonDot: return f.has_dotprod && active == Isa::kNeon;
    default: break;
  }
  if (needed == Isa::kScalar) return true;
  if (needed == Isa::kNeon) return active == Isa::kNeon;
  if (active == Isa::kNeon) return false;
  return static_cast<int>(needed) <= static_cast<int>(active);
}

}  // namespace spiralkit

// What the CPU can run, detected once. SPIRALKIT_ISA=scalar|avx2|avx512|neon|neonfp16 lowers the
// level for debugging and A/B benchmarks; asking for more than the CPU has falls back, never
// crashes. neonfp16 is neon that insists on FEAT_FP16 (a note says so where the CPU lacks it);
// extension rows (fp16, dot product, VNNI) follow the base level: scalar turns them all off.
#pragma once

#include <string>

namespace spiralkit {

// Base levels (kScalar < kAvx2 < kAvx512 on x86; kNeon on AArch64) plus extensions a kernel row may
// need on top of its base level: a row tagged kAvx512Vnni runs where kAvx512 is active and the CPU
// has AVX-512 VNNI, and so on. SPIRALKIT_ISA lowers the base level; extensions follow it.
enum class Isa : int {
  kScalar = 0,
  kAvx2 = 1,
  kAvx512 = 2,
  kNeon = 3,
  kAvx512Vnni = 4,  // kAvx512 + AVX512_VNNI (vpdpbusd on zmm)
  kAvxVnni = 5,     // kAvx2 + AVX-VNNI (vpdpbusd on ymm, VEX-encoded)
  kNeonFp16 = 6,    // kNeon + FEAT_FP16 arithmetic (hwcap asimdhp; Cortex-A76/A78, not A72)
  kNeonDot = 7,     // kNeon + FEAT_DotProd (hwcap asimddp; SDOT/UDOT)
  kAvx512Bf16 = 8,  // kAvx512 + AVX512_BF16 (vdpbf16ps, vcvtne2ps2bf16; Zen 4, Cooper Lake, Sapphire Rapids)
};

const char* isa_name(Isa isa);

struct CpuFeatures {
  Isa detected = Isa::kScalar;  // best ISA the CPU and OS support
  Isa active = Isa::kScalar;    // what kernels may use (detected, possibly lowered by SPIRALKIT_ISA)
  std::string forced;           // the SPIRALKIT_ISA value, if any
  std::string note;             // why a forced value was not honoured, if it was not
  bool has_fma = false;
  bool has_avx512_vnni = false;
  bool has_avx_vnni = false;
  bool has_avx512_bf16 = false;
  bool has_fp16 = false;        // ARM FEAT_FP16 (asimdhp)
  bool has_dotprod = false;     // ARM SDOT
  int physical_cores = 1;
  int logical_cpus = 1;
};

// Detected on first call, then cached (thread-safe).
const CpuFeatures& cpu_features();

// True if code built for `needed` may run under the active level.
bool isa_allows(Isa needed);

}  // namespace spiralkit

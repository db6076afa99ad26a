// SPIRALKIT_CLONES: compile a hot loop of an engine op for x86-64-v4 (AVX-512), v3 (AVX2) and the
// baseline, picked at load time by the CPU (GCC function multi-versioning). For loops too small
// to earn a kernel family of their own (LayerNorm rows, softmax rows, broadcast arithmetic); the
// weight kernels keep their registry and SPIRALKIT_ISA override.
#pragma once

#if defined(SPIRALKIT_ARCH_x86) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define SPIRALKIT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SPIRALKIT_CLONES
#endif

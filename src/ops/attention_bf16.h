// Attention with its two products (scores = q k, context = p v) on the bf16-gemm rows: the int8
// plans' attention on CPUs with AVX512_BF16. Softmax, scale and mask stay fp32; q, k, v and the
// probabilities are rounded to bf16 (2^-9 relative) on their way into the products, which halves
// their cost against fp32 FMAs. fp32 plans keep tensor_math.h's fp32 attention.
#pragma once

#include "graph/graph.h"

namespace spiralkit {

// Whether the bf16 rows run here (x86 with AVX512_BF16, SPIRALKIT_ISA not below avx512).
bool attention_bf16_available();

// bshd: the interleaved-heads layout (q [B,S,H,D], k [B,T,H,D], v [B,T,H,E] -> y [B,S,H,E], mask
// broadcast to [B,H,S,T]); otherwise q [..., S, D], k [..., D, T], v [..., T, E] -> y [..., S, E]
// with the mask broadcast to [..., S, T], as attention_forward / attention_bshd_forward.
int64_t attention_bf16_workspace_floats(const Shape& sq, const Shape& sk, const Shape& sv, bool bshd);
void attention_bf16_forward(bool bshd, const float* q, const Shape& sq, const float* k, const Shape& sk,
                            const float* v, const Shape& sv, const float* mask, const Shape& smask, float scale,
                            float* y, float* ws);

}  // namespace spiralkit

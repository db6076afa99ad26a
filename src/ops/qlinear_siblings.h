// int8 linears that read the same input (attention's Q, K and V projections) run as one op: each
// strip of x is quantized and moved into the kernels' K x M layout once for all of them, and every
// thread runs its share of each layer's panels between one pair of barriers. Run apart, each
// layer re-quantizes and re-transposes the same x and pays its own fork, join and barriers.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "ops/epilogue.h"
#include "ops/qlinear.h"

namespace spiralkit {

// The most layers one call runs (Q, K, V and one more).
constexpr int kMaxQLinearSiblings = 4;

// Whether `b` can join `a` at m rows: the same K and input quantization, K x M kernels for both
// (m >= kGemvRows), and no residual in b's epilogue (the residual could be written later).
bool qlinear_siblings_fusable(const QLinearPlan& a, const QLinearPlan& b, const Epilogue& b_ep, int64_t m);

// x: m x K fp32, shared; ys[i]: m x N_i fp32 for plans[i] with epilogue eps[i].
Status qlinear_siblings_forward(const QLinearPlan* const* plans, const Epilogue* eps, const int count, const float* x,
                                int64_t m, float* const* ys);

}  // namespace spiralkit

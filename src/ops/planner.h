// Per call: sparse panels or the dense fallback, whichever a cost model says is cheaper for this
// weight at this many activation rows, so a sparse layer is never slower than dense by design.
#pragma once

#include <cstdint>

#include "sparse/packed_weight.h"

namespace spiralkit {

// Rows below this run as repeated GEMV (cheaper than R broadcasts per block on a narrow tile).
constexpr int64_t kGemvRows = 4;

// What a layer runs: the cost model's choice, or one forced by the engine's compile-time timing.
enum class PlanChoice : int { kAuto = 0, kDense = 1, kSparse = 2 };
inline bool valid_kernel_choice(int64_t c) { return c >= 0 && c <= 2; }

// True when the dense fallback is cheaper than the weight's sparse panels for m activation rows.
bool plan_dense(const PackedWeight& w, int64_t m, PlanChoice choice = PlanChoice::kAuto);

// The panels to run for m activation rows (w.panels, w.gemv_panels() or w.dense_panels()).
const PanelPack& plan_panels(const PackedWeight& w, int64_t m, PlanChoice choice = PlanChoice::kAuto);

// Whether the selected f32-dwconv row reads the unpadded plane with masked loads (AVX2, AVX-512):
// no per-plane copy, so it stays fast on narrow planes. The NEON and scalar rows copy each plane
// into a zero-padded scratch first, which costs as much as the convolution below 32 columns.
bool dwconv_reads_unpadded();

}  // namespace spiralkit

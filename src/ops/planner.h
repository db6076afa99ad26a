// Per call: sparse panels or the dense fallback, whichever a cost model says is cheaper for this
// weight at this many activation rows, so a sparse layer is never slower than dense by design.
#pragma once

#include <cstdint>

#include "sparse/packed_weight.h"
#include "spiralkit_kernels/f32-sconv.h"

namespace spiralkit {

// Rows below this run as repeated GEMV (cheaper than R broadcasts per block on a narrow tile).
constexpr int64_t kGemvRows = 4;

// What a layer runs: the cost model's choice, or one forced by the engine's compile-time timing.
enum class PlanChoice : int { kAuto = 0, kDense = 1, kSparse = 2 };
// A node's stored choice (Conv2d ints[12], Linear ints[1]) is a PlanChoice or kChoiceFp32: a
// quantized layer runs the fp32 kernels on its dequantized weights (dense or sparse as kAuto
// decides) -- e.g. an inverted-residual block whose fused fp32 run beats its int8 layers.
constexpr int64_t kChoiceFp32 = 3;
inline bool valid_kernel_choice(int64_t c) { return c >= 0 && c <= kChoiceFp32; }

// True when the dense fallback is cheaper than the weight's sparse panels for m activation rows.
bool plan_dense(const PackedWeight& w, int64_t m, PlanChoice choice = PlanChoice::kAuto);

// The panels to run for m activation rows (w.panels, w.gemv_panels() or w.dense_panels()).
const PanelPack& plan_panels(const PackedWeight& w, int64_t m, PlanChoice choice = PlanChoice::kAuto);

// Whether the selected f32-dwconv row reads the unpadded plane with masked loads (AVX2, AVX-512):
// no per-plane copy, so it stays fast on narrow planes. The NEON and scalar rows copy each plane
// into a zero-padded scratch first, which costs as much as the convolution below 32 columns.
bool dwconv_reads_unpadded();
// Output widths below which a standalone depthwise runs channel-blocked (f32-dwconvcb) rather
// than per plane. Paired per-layer runs, 2 threads, Zen 4: AVX-512 per-plane ahead from 14
// columns (384 x 14 x 14: 17-18 vs 25-27 us) and level at 7; AVX2 (8 lanes) blocked ahead at 14
// (27-34 vs 39-50 us), level at 28; the padded-copy rows below 32.
int64_t depthwise_blocked_below();
// A 3x3 stride-2 pad-1 depthwise onto at most 7 columns runs per plane on AVX-512 whatever its
// width: the kernel puts two output rows in a vector, where the blocked path transposes in and
// out (576 x 14 x 14 -> 7 x 7 alone, 2 threads, Zen 5, alternating processes: 8.4-8.6 vs
// 12.0-12.1 us).
bool depthwise_stride2_narrow_per_plane(const ConvShape& s);
// Output widths from which an inverted-residual block fuses (its depthwise runs per plane on the
// band): AVX-512 every width (MobileNet-v2 end to end measured best so); elsewhere where the
// per-plane kernel is not behind (depthwise_blocked_below).
int64_t fused_block_min_width();

}  // namespace spiralkit

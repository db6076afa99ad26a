// An inverted-residual block (MobileNet-v2 style: optional 1x1 expand, depthwise k x k, 1x1
// project with optional residual) run as one op in bands of output rows. Unfused, the expanded
// tensor (e.g. 96 x 112 x 112 floats, 4.8 MB) goes to memory and comes back for the depthwise,
// whose own output makes the same trip to the project convolution; fused, each thread keeps a
// band of expanded rows and the band's depthwise output in L2 and writes only the block's output.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "ops/epilogue.h"
#include "sparse/packed_weight.h"
#include "spiralkit_kernels/f32-sconv.h"

namespace spiralkit {

struct FusedBlock {
  const PackedWeight* expand = nullptr;  // 1x1, stride 1; null: the depthwise reads x itself
  ConvShape expand_shape;
  Epilogue expand_ep;  // bias, activation (no residual)
  const PackedWeight* depthwise = nullptr;
  ConvShape depthwise_shape;
  Epilogue depthwise_ep;
  const PackedWeight* project = nullptr;  // 1x1, stride 1
  ConvShape project_shape;
  Epilogue project_ep;  // bias, activation, residual (NCHW like y)
};

// Whether the three (two) convolutions chain as one block this driver runs: 1x1 stride-1 unpadded
// ungrouped expand/project, a pure depthwise (one output per input channel) with symmetric pads,
// and an output row at least fused_block_min_width() wide (ops/planner.h: any width on AVX-512,
// 16 on AVX2, 32 where the per-plane depthwise pads by copying).
bool fusable_block(const FusedBlock& b);

// Scratch for `threads` threads (each its own bands).
int64_t fused_block_workspace_floats(const FusedBlock& b, int threads);
// Output rows per band, from the cache budget (what Engine.layers() shows).
int64_t fused_block_band_rows(const FusedBlock& b);

// x: the block input (NCHW, the expand's input or, without expand, the depthwise's); y: the
// project's output. The planned panels of expand and project follow their epilogues' `choice`.
Status fused_block_forward(const FusedBlock& b, const float* x, float* y, float* workspace);

}  // namespace spiralkit

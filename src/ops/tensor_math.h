// Engine ops that are not weight kernels: elementwise, normalisation, pooling, data movement and
// activation x activation products. Each takes raw pointers plus shapes already checked by shape
// inference (src/graph/shape_inference.cc); they allocate nothing and split work over the
// library's thread count.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"
#include "graph/op_list.h"
#include "spiralkit_kernels/unary.h"

namespace spiralkit {

// Per-dim scratch on the stack: the ops below keep run free of heap allocation.
using Dims = std::array<int64_t, GraphBuilder::kMaxRank>;

// --- elementwise (elementwise.cc)
void binary_forward(BinaryKind kind, const float* a, const Shape& sa, const float* b, const Shape& sb, float* y,
                    const Shape& sy);
void unary_forward(UnaryOp op, const float* x, float* y, int64_t n, float p0, float p1);
void cast_forward(DType from, DType to, const void* x, void* y, int64_t n);

// --- normalisation and reductions (normalize.cc)
// x viewed as outer x axis x inner.
void softmax_forward(const float* x, float* y, int64_t outer, int64_t axis, int64_t inner);
void layernorm_forward(const float* x, float* y, int64_t rows, int64_t cols, const float* scale, const float* bias,
                       float eps);
// Per-channel y = x * a[c] + b[c] over [N, C, inner].
void channel_affine_forward(const float* x, float* y, int64_t n, int64_t c, int64_t inner, const float* a,
                            const float* b);
// reduced: bit d set when dim d is reduced.
void reduce_mean_forward(const float* x, const Shape& sx, uint32_t reduced, float* y);

// --- pooling, NCHW (pool.cc); p = [kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, ceil, count_include_pad]
void max_pool_forward(const float* x, const Shape& sx, const std::vector<int64_t>& p, float* y, const Shape& sy);
// The same over uint8 activations (an int8 convolution's output, the next one's input).
void max_pool_u8_forward(const uint8_t* x, const Shape& sx, const std::vector<int64_t>& p, uint8_t* y,
                         const Shape& sy);
void avg_pool_forward(const float* x, const Shape& sx, const std::vector<int64_t>& p, float* y, const Shape& sy);
void global_avg_pool_forward(const float* x, const Shape& sx, float* y);

// --- data movement (tensor_ops.cc); element size in bytes
void transpose_forward(const void* x, const Shape& sx, const std::vector<int64_t>& perm, void* y, int64_t elem);
void concat_forward(const std::vector<const void*>& xs, const std::vector<const Shape*>& shapes, int64_t axis,
                    void* y, int64_t elem);
void split_forward(const void* x, const Shape& sx, int64_t axis, const std::vector<void*>& ys,
                   const std::vector<const Shape*>& shapes, int64_t elem);
void slice_forward(const void* x, const Shape& sx, const std::vector<int64_t>& spec, void* y, const Shape& sy,
                   int64_t elem);
// Fails (InvalidArgument naming the bad index) when an index is outside [-dim, dim).
Status gather_forward(const void* x, const Shape& sx, int64_t axis, const int64_t* idx, int64_t n_idx, void* y,
                      int64_t elem);

// --- products (matmul.cc)
void matmul_forward(const float* a, const Shape& sa, const float* b, const Shape& sb, float* y, const Shape& sy);
// softmax(q k * scale + mask) v per leading index; workspace: attention_workspace_floats.
void attention_forward(const float* q, const Shape& sq, const float* k, const Shape& sk, const float* v,
                       const Shape& sv, const float* mask, const Shape& smask, float scale, float* y, float* ws);
int64_t attention_workspace_floats(const Shape& sq, const Shape& sk);
// The interleaved-heads layout (q [B,S,H,D], k [B,T,H,D], v [B,T,H,E] -> y [B,S,H,E]); mask
// broadcast to [B,H,S,T]; workspace: attention_bshd_workspace_floats.
void attention_bshd_forward(const float* q, const Shape& sq, const float* k, const Shape& sk, const float* v,
                            const Shape& sv, const float* mask, const Shape& smask, float scale, float* y, float* ws);
int64_t attention_bshd_workspace_floats(const Shape& sq, const Shape& sk);

}  // namespace spiralkit

#include <cmath>
#include <vector>

#include "graph/passes/passes.h"

namespace spiralkit {

Status fold_batchnorm(Graph* g, int* rewrites) {
  *rewrites = 0;
  for (size_t i = 0; i < g->nodes.size(); ++i) {
    const Node& bn = g->nodes[i];
    if (bn.op != OpKind::kBatchNorm) continue;
    const std::vector<int> uses = consumer_counts(*g);
    const int src = bn.inputs[0];
    if (uses[src] != 1) continue;
    int p = -1;
    for (size_t j = 0; j < i; ++j)
      for (int v : g->nodes[j].outputs)
        if (v == src) p = static_cast<int>(j);
    if (p < 0) continue;
    Node& conv = g->nodes[p];
    if (conv.op != OpKind::kConv2d || conv.ints[11] != 0 || (conv.inputs.size() > 2 && conv.inputs[2] >= 0)) continue;
    const ConstTensor* sc = g->constant_of(bn.inputs[1]);
    const ConstTensor* bi = g->constant_of(bn.inputs[2]);
    const ConstTensor* mu = g->constant_of(bn.inputs[3]);
    const ConstTensor* var = g->constant_of(bn.inputs[4]);
    if (!sc || !bi || !mu || !var) continue;
    if (g->weights[conv.weight].quant) continue;  // int8 layer: its BatchNorm runs fp32 after it
    const PackedWeight& w = *g->weights[conv.weight].packed;
    const int64_t rows = w.rows, cols = w.cols;
    const float eps = bn.floats[0];
    std::vector<float> a(rows), b(rows);
    const ConstTensor* old_bias = conv.inputs.size() > 1 && conv.inputs[1] >= 0 ? g->constant_of(conv.inputs[1]) : nullptr;
    for (int64_t r = 0; r < rows; ++r) {
      a[r] = sc->f32[r] / std::sqrt(var->f32[r] + eps);
      b[r] = bi->f32[r] - mu->f32[r] * a[r] + (old_bias ? old_bias->f32[r] * a[r] : 0.0f);
    }
    std::vector<float> dense(static_cast<size_t>(rows * cols));
    w.to_dense(dense.data());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) dense[r * cols + c] *= a[r];
    std::unique_ptr<PackedWeight> packed;
    SPIRALKIT_RETURN_IF_ERROR(pack_weight(dense.data(), rows, cols, w.pattern, &packed));
    g->weights.push_back(Weight{std::shared_ptr<const PackedWeight>(std::move(packed)), g->weights[conv.weight].shape, nullptr});
    conv.weight = static_cast<int>(g->weights.size()) - 1;
    // The folded bias: a new constant value.
    ConstTensor t;
    t.dims = {rows};
    t.f32 = b;
    Value v;
    v.name = bn.name + "/folded_bias";
    v.dims = t.dims;
    v.constant = static_cast<int>(g->constants.size());
    g->constants.push_back(std::move(t));
    g->values.push_back(v);
    while (conv.inputs.size() < 2) conv.inputs.push_back(-1);
    conv.inputs[1] = static_cast<int>(g->values.size()) - 1;
    conv.outputs = bn.outputs;
    g->nodes.erase(g->nodes.begin() + i);
    --i;
    ++*rewrites;
  }
  return Status::Ok();
}

}  // namespace spiralkit

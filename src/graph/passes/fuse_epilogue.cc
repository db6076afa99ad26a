#include <cmath>

#include "graph/passes/passes.h"
#include "graph/shape_inference.h"
#include "spiralkit_kernels/activation.h"
#include "spiralkit_kernels/unary.h"

namespace spiralkit {

std::vector<int> consumer_counts(const Graph& g) {
  std::vector<int> c(g.values.size(), 0);
  for (const Node& n : g.nodes)
    for (int v : n.inputs)
      if (v >= 0) ++c[v];
  for (int v : g.outputs) ++c[v];
  return c;
}

namespace {

// producer[v] = index of the node computing value v, or -1.
std::vector<int> producers(const Graph& g) {
  std::vector<int> p(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (int v : g.nodes[i].outputs) p[v] = static_cast<int>(i);
  return p;
}

bool is_weighted(const Node& n) { return n.op == OpKind::kConv2d || n.op == OpKind::kLinear; }
int64_t& act_of(Node& n) { return n.op == OpKind::kConv2d ? n.ints[11] : n.ints[0]; }
bool has_residual(const Node& n) { return n.inputs.size() > 2 && n.inputs[2] >= 0; }

// Moves `absorbed`'s output onto `producer` and drops `absorbed`.
void absorb(Graph* g, size_t producer, size_t absorbed) {
  g->nodes[producer].outputs = g->nodes[absorbed].outputs;
  g->nodes.erase(g->nodes.begin() + absorbed);
}

}  // namespace

Status fuse_residual(Graph* g, int64_t batch, int* rewrites) {
  *rewrites = 0;
  ShapeTable t0, t1;
  SPIRALKIT_RETURN_IF_ERROR(infer_shapes(*g, batch, &t0));
  SPIRALKIT_RETURN_IF_ERROR(infer_shapes(*g, batch + 1, &t1));
  for (size_t i = 0; i < g->nodes.size(); ++i) {
    const Node& add = g->nodes[i];
    if (add.op != OpKind::kBinary || add.ints[0] != static_cast<int64_t>(BinaryKind::kAdd)) continue;
    const std::vector<int> prod = producers(*g), uses = consumer_counts(*g);
    for (int side = 0; side < 2; ++side) {
      const int main = add.inputs[side], other = add.inputs[1 - side];
      const int p = prod[main];
      if (p < 0 || uses[main] != 1 || main == other || g->values[other].constant >= 0) continue;
      Node& n = g->nodes[p];
      if (!is_weighted(n) || act_of(n) != 0 || has_residual(n)) continue;
      if (t0.shapes[other] != t0.shapes[main] || t1.shapes[other] != t1.shapes[main]) continue;
      // The residual must exist when the producer runs: computed before it, or an input.
      if (prod[other] >= p) continue;
      while (n.inputs.size() < 2) n.inputs.push_back(-1);
      if (n.inputs.size() < 3) n.inputs.push_back(other); else n.inputs[2] = other;
      absorb(g, p, i);
      --i;
      ++*rewrites;
      break;
    }
  }
  return Status::Ok();
}

Status fuse_activation(Graph* g, int* rewrites) {
  *rewrites = 0;
  for (size_t i = 0; i < g->nodes.size(); ++i) {
    const Node& u = g->nodes[i];
    if (u.op != OpKind::kUnary) continue;
    Activation act = Activation::kNone;
    switch (static_cast<UnaryOp>(u.ints[0])) {
      case UnaryOp::kRelu: act = Activation::kRelu; break;
      case UnaryOp::kClip:
        if (u.floats[0] == 0.0f && u.floats[1] == 6.0f) act = Activation::kRelu6;
        else if (u.floats[0] == 0.0f && std::isinf(u.floats[1]) && u.floats[1] > 0) act = Activation::kRelu;
        break;
      case UnaryOp::kSigmoid: act = Activation::kSigmoid; break;
      case UnaryOp::kGelu: act = Activation::kGelu; break;
      case UnaryOp::kSilu: act = Activation::kSilu; break;
      default: break;
    }
    if (act == Activation::kNone) continue;
    const std::vector<int> prod = producers(*g), uses = consumer_counts(*g);
    const int src = u.inputs[0], p = prod[src];
    if (p < 0 || uses[src] != 1) continue;
    Node& n = g->nodes[p];
    if (!is_weighted(n) || act_of(n) != 0) continue;
    act_of(n) = static_cast<int64_t>(act);
    absorb(g, p, i);
    --i;
    ++*rewrites;
  }
  return Status::Ok();
}

Status run_passes(Graph* g, int64_t batch) {
  int n = 0;
  SPIRALKIT_RETURN_IF_ERROR(fold_batchnorm(g, &n));
  SPIRALKIT_RETURN_IF_ERROR(fuse_residual(g, batch, &n));
  SPIRALKIT_RETURN_IF_ERROR(fuse_activation(g, &n));
  SPIRALKIT_RETURN_IF_ERROR(compact_graph(g));
  ShapeTable t;
  return infer_shapes(*g, batch, &t);
}

}  // namespace spiralkit

#include <vector>

#include "graph/passes/passes.h"

namespace spiralkit {

// Drops values, constants and weights no node or output uses (the leftovers of the rewrites), and
// renumbers what stays, so an artifact stores only what runs.
Status compact_graph(Graph* g) {
  const size_t nv = g->values.size();
  std::vector<bool> keep(nv, false);
  std::vector<bool> keep_w(g->weights.size(), false);
  for (int v : g->inputs) keep[v] = true;
  for (int v : g->outputs) keep[v] = true;
  for (const Node& n : g->nodes) {
    for (int v : n.inputs)
      if (v >= 0) keep[v] = true;
    for (int v : n.outputs) keep[v] = true;
    if (n.weight >= 0) keep_w[n.weight] = true;
  }
  Graph out;
  std::vector<int> vmap(nv, -1), wmap(g->weights.size(), -1);
  for (size_t w = 0; w < g->weights.size(); ++w)
    if (keep_w[w]) {
      wmap[w] = static_cast<int>(out.weights.size());
      out.weights.push_back(std::move(g->weights[w]));
    }
  for (size_t v = 0; v < nv; ++v) {
    if (!keep[v]) continue;
    Value val = g->values[v];
    if (val.constant >= 0) {
      const int c = static_cast<int>(out.constants.size());
      out.constants.push_back(std::move(g->constants[val.constant]));
      val.constant = c;
    }
    vmap[v] = static_cast<int>(out.values.size());
    out.values.push_back(std::move(val));
  }
  auto remap = [&](std::vector<int>& ids) {
    for (int& v : ids)
      if (v >= 0) v = vmap[v];
  };
  for (int v : g->inputs) out.inputs.push_back(vmap[v]);
  for (int v : g->outputs) out.outputs.push_back(vmap[v]);
  for (Node& n : g->nodes) {
    remap(n.inputs);
    remap(n.outputs);
    if (n.weight >= 0) n.weight = wmap[n.weight];
    out.nodes.push_back(std::move(n));
  }
  *g = std::move(out);
  return Status::Ok();
}

}  // namespace spiralkit

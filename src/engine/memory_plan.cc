#include "engine/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace spiralkit {

Status plan_memory(const Graph& g, const ShapeTable& t, const std::vector<int64_t>& workspace_bytes, MemoryPlan* out,
                   const FusedSteps& fused) {
  const size_t nv = g.values.size();
  MemoryPlan& p = *out;
  p.offset.assign(nv, -1);
  p.alias_of.assign(nv, -1);
  std::vector<bool> external(nv, false);  // inputs, outputs, constants: not arena-allocated
  for (size_t v = 0; v < nv; ++v) external[v] = g.values[v].is_input || g.values[v].constant >= 0;
  for (int v : g.outputs) external[v] = true;
  // Aliases: a Reshape whose output is not a graph output shares its input's bytes.
  for (const Node& n : g.nodes)
    if (n.op == OpKind::kReshape && !external[n.outputs[0]]) {
      int root = n.inputs[0];
      while (p.alias_of[root] >= 0) root = p.alias_of[root];
      p.alias_of[n.outputs[0]] = root;
    }
  auto root_of = [&](int v) {
    while (p.alias_of[v] >= 0) v = p.alias_of[v];
    return v;
  };
  const int none = -1;
  std::vector<int> first(nv, none), last(nv, none);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    // A fused chain's output is written at its head's step: planned from there, it cannot share
    // bytes with the chain's input (which the head reads while it writes the output).
    const int step = fused.step.empty() ? static_cast<int>(i) : fused.step[i];
    for (int v : g.nodes[i].outputs) {
      const int r = root_of(v);
      if (first[r] == none) first[r] = step;
      last[r] = std::max(last[r], step);
    }
    for (int v : g.nodes[i].inputs)
      if (v >= 0) last[root_of(v)] = std::max(last[root_of(v)], step);
  }
  std::vector<int> order;
  std::vector<int64_t> bytes(nv, 0);
  for (size_t v = 0; v < nv; ++v) {
    if (external[v] || p.alias_of[v] >= 0 || first[v] == none) continue;
    if (!fused.unmaterialized.empty() && fused.unmaterialized[v]) continue;
    int64_t numel = 0;
    checked_numel(t.shapes[v], &numel);
    bytes[v] = (numel * element_size(t.dtypes[v]) + MemoryPlan::kAlign - 1) / MemoryPlan::kAlign * MemoryPlan::kAlign;
    order.push_back(static_cast<int>(v));
  }
  // Largest first, each at the lowest offset free over its lifetime (greedy by size, as TFLite's
  // arena planner does).
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return bytes[a] > bytes[b]; });
  std::vector<int> placed;
  int64_t top = 0;
  for (int v : order) {
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (int u : placed)
      if (first[u] <= last[v] && first[v] <= last[u]) busy.emplace_back(p.offset[u], p.offset[u] + bytes[u]);
    std::sort(busy.begin(), busy.end());
    int64_t at = 0;
    for (const auto& b : busy) {
      if (at + bytes[v] <= b.first) break;
      at = std::max(at, b.second);
    }
    p.offset[v] = at;
    top = std::max(top, at + bytes[v]);
    placed.push_back(v);
  }
  int64_t ws = 0;
  for (int64_t b : workspace_bytes) ws = std::max(ws, b);
  p.workspace_offset = top;
  p.workspace_bytes = (ws + MemoryPlan::kAlign - 1) / MemoryPlan::kAlign * MemoryPlan::kAlign;
  p.arena_bytes = top + p.workspace_bytes;
  return Status::Ok();
}

}  // namespace spiralkit

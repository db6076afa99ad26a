// Activation memory for one batch size: every intermediate value gets an offset into one arena,
// values whose lifetimes overlap never share bytes, and the largest per-node workspace sits at
// the end. Reshape outputs alias their input (no copy). Graph inputs, outputs and constants
// live outside the arena.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"
#include "graph/shape_inference.h"

namespace spiralkit {

struct MemoryPlan {
  static constexpr int64_t kAlign = 64;
  std::vector<int64_t> offset;  // per value: byte offset in the arena, or -1 (not in the arena)
  std::vector<int> alias_of;    // per value: the value whose storage it shares, or -1
  int64_t workspace_offset = 0;
  int64_t workspace_bytes = 0;
  int64_t arena_bytes = 0;
};

// Nodes that run as one fused op (an inverted-residual chain runs at its head node and writes the
// chain's last output there): per node the step at which it runs, and the values never stored
// (the chain's intermediates). Empty: every node runs at its own index, every value is stored.
struct FusedSteps {
  std::vector<int> step;          // per node
  std::vector<bool> unmaterialized;  // per value
};

// workspace_bytes: per node, the scratch its driver needs at these shapes. A value is live from
// the step that writes it to the last step that reads it.
Status plan_memory(const Graph& g, const ShapeTable& shapes, const std::vector<int64_t>& workspace_bytes,
                   MemoryPlan* out, const FusedSteps& fused = {});

}  // namespace spiralkit

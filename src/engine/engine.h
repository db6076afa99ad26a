// The compiled model: an optimised graph with packed weights, planned once per batch size
// (shapes, kernel workspace, activation arena) and run in one call. `run` allocates nothing:
// outputs are the caller's buffers and arenas come from a pool (one per concurrent call), so
// several threads may run one Engine at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/memory_plan.h"
#include "graph/graph.h"
#include "graph/shape_inference.h"
#include "ops/fused_block.h"
#include "ops/qlinear.h"
#include "ops/qlinear_pair.h"

namespace spiralkit {

// Per node, what the plan decided for it at one batch size.
struct NodePlan {
  int64_t workspace_bytes = 0;
  std::string kernel;  // what runs (shown by Engine.layers())
  // Nodes this node runs: 1; 2 or 3 when it heads a fused block (ops/fused_block.h); 0 when an
  // earlier node runs it.
  int runs = 1;
  bool linear_pair = false;  // heads an int8 linear pair (ops/qlinear_pair.h): runs == 2
  int fused_head = -1;       // when runs == 0: the node that runs this one
  std::vector<int> siblings;  // int8 linears this one runs with its shared input (ops/qlinear_siblings.h)
  bool bf16_attention = false;  // Attention in an int8 plan, products on the bf16 rows (ops/attention_bf16.h)
};

struct Instance {
  int64_t batch = 0;
  int threads = 1;
  ShapeTable shapes;
  MemoryPlan memory;
  std::vector<NodePlan> nodes;
  std::vector<QuantParams> uint8;  // per value: uint8_values (scale 0: fp32)
};

class Engine {
 public:
  // Takes an optimised graph (passes already run) and checks it at `batch`.
  static Status create(Graph graph, int64_t batch, std::unique_ptr<Engine>* out);

  const Graph& graph() const { return g_; }
  // Forces Conv2d/Linear node i to the dense fallback (1), its sparse panels (2) or the cost
  // model (0); other nodes' entries are ignored. For compile-time tuning only: not while runs
  // are in flight (cached plans are dropped).
  Status set_kernel_choices(const std::vector<int>& choices);
  // The plan for a batch size at the current thread count (built on first use, then cached).
  Status instance(int64_t batch, std::shared_ptr<const Instance>* out) const;
  // inputs: one pointer per graph input (their shapes were checked by the caller against
  // instance shapes); outputs: one buffer per graph output, sized from the instance.
  // node_seconds (optional): per node, its wall time is added (the profiler's view).
  Status run(const Instance& inst, const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
             std::vector<double>* node_seconds = nullptr) const;

 private:
  Engine() = default;
  Status build_instance(int64_t batch, int threads, std::shared_ptr<const Instance>* out) const;
  Status run_node(size_t i, const Instance& inst, const std::vector<void*>& ptr, uint8_t* workspace) const;
  // Nodes i.. that chain as one fused block at these shapes (0 when none); the block, with
  // pointers from ptr when given.
  int fused_block_length(size_t i, const ShapeTable& shapes, const std::vector<int>& uses) const;
  FusedBlock fused_block_at(size_t i, int length, const ShapeTable& shapes,
                            const std::vector<void*>* ptr) const;
  // Whether Linear nodes i, i + 1 run as one int8 pair at these shapes (ops/qlinear_pair.h).
  bool linear_pair_at(size_t i, const ShapeTable& shapes, const std::vector<int>& uses) const;
  // A Linear node's epilogue; bias and residual pointers from ptr when given.
  Epilogue linear_epilogue(const Node& n, const std::vector<void*>* ptr) const;

  Graph g_;
  // BatchNorm nodes run as a per-channel affine: a, b per node (empty for other ops).
  std::vector<std::pair<std::vector<float>, std::vector<float>>> affine_;
  mutable std::mutex mu_;
  mutable std::map<std::pair<int64_t, int>, std::shared_ptr<const Instance>> instances_;
  struct Arena {
    std::unique_ptr<uint8_t[]> mem;
    uint8_t* base = nullptr;  // 64-byte aligned
    std::vector<void*> ptr;   // per value: where it lives during this call
  };
  std::unique_ptr<Arena> take_arena(const Instance& inst) const;
  void give_arena(const Instance& inst, std::unique_ptr<Arena> a) const;
  mutable std::map<const Instance*, std::vector<std::unique_ptr<Arena>>> free_arenas_;
};

}  // namespace spiralkit

// Graph rewrites run once at compile time, before planning (the ONNX Runtime optimizer's role):
// each returns the number of rewrites it made. Nodes are removed by the rewrite that absorbs
// them; values they produced stay in the table, unused.
#pragma once

#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace spiralkit {

// How many nodes read each value, plus one for a graph output.
std::vector<int> consumer_counts(const Graph& g);

// BatchNorm after a Conv2d whose output nothing else reads: scale the conv's weight rows and
// bias (the weight is repacked in its own pattern; zeros stay zeros).
Status fold_batchnorm(Graph* g, int* rewrites);

// Add(conv_or_linear_output, other) with `other` of the output's shape at every batch size:
// the Add becomes the producer's residual input.
Status fuse_residual(Graph* g, int64_t batch, int* rewrites);

// Relu / Clip(0, 6) / Sigmoid / Gelu after a Conv2d or Linear: the activation moves into the
// producer's epilogue.
Status fuse_activation(Graph* g, int* rewrites);

// Drops unused values, constants and weights and renumbers the rest.
Status compact_graph(Graph* g);

// All of the above in order, then a check of the result.
Status run_passes(Graph* g, int64_t batch);

}  // namespace spiralkit

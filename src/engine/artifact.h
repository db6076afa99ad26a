// The compiled model's file: a container (container.h) with two sections, the graph records
// ("graph") and the raw tensor bytes they point into ("tensors"). Weights are stored in their
// reference sparse format, so the file grows with the non-zeros; loading re-derives the kernel
// panels. The reader rebuilds the graph through GraphBuilder, so a file is checked exactly as
// a compile is, and every count, offset and index is bounds-checked first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace spiralkit {

// 2: int8 weight records carry their stored K order (artifact_i8.h). Version 1 files still load.
constexpr uint32_t kGraphFormatVersion = 2;
constexpr uint32_t kOldestGraphFormatVersion = 1;

Status serialize_graph(const Graph& g, int64_t example_batch, std::vector<uint8_t>* file);
// Any failure to parse is FormatError (a structurally valid file whose graph fails checks too).
Status deserialize_graph(std::vector<uint8_t> file, Graph* g, int64_t* example_batch);

Status save_graph(const Graph& g, int64_t example_batch, const std::string& path);
Status load_graph(const std::string& path, Graph* g, int64_t* example_batch);

}  // namespace spiralkit

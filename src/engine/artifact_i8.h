// The artifact's int8 layers: an optional section "qweights" beside "graph" and "tensors" (files
// without int8 layers are byte-for-byte what they were). Each int8 weight is stored once, as int8
// 1x4 blocks per row (16-bit block counts and group indices), its per-row scales and the quantization of its
// input; its record in "graph" keeps the shape with empty arrays. Loading re-packs the panels and
// rebuilds the fp32 twin, after checking every count and index.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "core/status.h"
#include "engine/container.h"
#include "graph/graph.h"
#include "graph/quantized_weight.h"

namespace spiralkit {

constexpr uint32_t kQuantSection = 3;
constexpr const char* kQuantSectionName = "qweights";

// The section's bytes; empty when g has no int8 weight. A k x k convolution's weight whose
// non-zeros make fewer 4-wide groups tap-major (K column (c, tap) at tap * C + c: blocks of input
// channels, pattern `RxC-cin`) is stored in that order, its record saying so (`taps`, graph
// format version 2); every other weight in PyTorch's K order (taps 0, the only order of version 1).
std::vector<uint8_t> serialize_quantized_weights(const Graph& g);

struct LoadedQuantWeight {
  std::shared_ptr<const QuantizedWeight> quant;
  std::shared_ptr<const PackedWeight> twin;
  int64_t rows = 0, cols = 0;
  int64_t taps = 0;  // > 0: it was stored tap-major for a convolution with this many taps
};
// Parses the section of a file of graph format `version`; weight indices must be < n_weights and
// unique. FormatError on anything wrong.
Status deserialize_quantized_weights(const Section& s, uint64_t n_weights, uint32_t version,
                                     std::map<int, LoadedQuantWeight>* out);

// An optional section "qvalues": the calibrated uint8 parameters of intermediates
// (Value::uint8_scale), as (value id in the file's numbering, scale, zero point) records.
constexpr uint32_t kUint8ValuesSection = 4;
constexpr const char* kUint8ValuesSectionName = "qvalues";
// The section's bytes for g, `id` mapping g's values to the file's ids; empty when none has them.
std::vector<uint8_t> serialize_uint8_values(const Graph& g, const std::vector<int>& id);
// Applies the section's records to the values b has built (each id once, checked by b).
Status apply_uint8_values(const Section& s, GraphBuilder* b);

}  // namespace spiralkit

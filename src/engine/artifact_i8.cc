#include "engine/artifact_i8.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace spiralkit {
namespace {

template <class T>
void put_array(ByteWriter& w, const std::vector<T>& v) {
  w.count(v.size());
  w.bytes(v.data(), v.size() * sizeof(T));
}

template <class T>
Status get_array(ByteReader& r, uint64_t expect, std::vector<T>* v, const char* what) {
  uint64_t n = 0;
  SPIRALKIT_RETURN_IF_ERROR(r.count(&n, r.remaining() / sizeof(T)));
  if (n != expect) return Status::FormatError(std::string("int8 weight: ") + what + " has the wrong length");
  const uint8_t* p = nullptr;
  SPIRALKIT_RETURN_IF_ERROR(r.bytes(&p, n * sizeof(T)));
  v->resize(n);
  if (n) std::memcpy(v->data(), p, n * sizeof(T));
  return Status::Ok();
}

Status as_format(Status st) {
  return st.ok() || st.code() == StatusCode::kFormatError ? st : Status::FormatError("int8 weight: " + st.message());
}

}  // namespace

std::vector<uint8_t> serialize_quantized_weights(const Graph& g) {
  std::vector<uint8_t> rec;
  uint64_t count = 0;
  for (const Weight& wt : g.weights) count += wt.quant != nullptr;
  if (!count) return rec;
  ByteWriter w(&rec);
  w.count(count);
  for (size_t i = 0; i < g.weights.size(); ++i) {
    if (!g.weights[i].quant) continue;
    const QuantizedWeight& q = *g.weights[i].quant;
    const PackedWeightI8& p = *q.w;
    std::vector<int8_t> dense(static_cast<size_t>(p.rows * p.cols));
    p.to_dense(dense.data());
    const Shape& shape = g.weights[i].shape;
    int64_t taps = shape.size() == 4 ? shape[2] * shape[3] : 1;
    if (taps > 1 && p.cols % taps == 0) {
      std::vector<int8_t> major(dense.size());
      reorder_taps_i8(dense.data(), p.rows, p.cols, taps, true, major.data());
      if (nonzero_groups_i8(major.data(), p.rows, p.cols) < nonzero_groups_i8(dense.data(), p.rows, p.cols)) dense.swap(major);
      else taps = 0;
    } else {
      taps = 0;
    }
    // 1x4 blocks per row: a 16-bit block count per row, a 16-bit group index and 4 int8 values per
    // block (lanes past K are 0). Groups <= 16384, so both fit 16 bits.
    std::vector<uint16_t> counts;
    std::vector<uint16_t> kidx;
    std::vector<int8_t> vals;
    const int64_t groups = (p.cols + 3) / 4;
    for (int64_t n = 0; n < p.rows; ++n) {
      const size_t before = kidx.size();
      for (int64_t gi = 0; gi < groups; ++gi) {
        int8_t v[4] = {0, 0, 0, 0};
        bool any = false;
        for (int j = 0; j < 4 && gi * 4 + j < p.cols; ++j) any |= (v[j] = dense[n * p.cols + gi * 4 + j]) != 0;
        if (!any) continue;
        kidx.push_back(static_cast<uint16_t>(gi));
        vals.insert(vals.end(), v, v + 4);
      }
      counts.push_back(static_cast<uint16_t>(kidx.size() - before));
    }
    w.i32(static_cast<int32_t>(i));
    w.f32(q.layer.x.scale);
    w.i32(q.layer.x.zero_point);
    w.u32(static_cast<uint32_t>(p.pattern.kind));
    w.i32(p.pattern.block_rows);
    w.i32(p.pattern.block_cols);
    w.i32(p.pattern.nm_n);
    w.i32(p.pattern.nm_m);
    w.i64(p.rows);
    w.i64(p.cols);
    w.i64(taps);
    put_array(w, p.scales);
    put_array(w, counts);
    put_array(w, kidx);
    put_array(w, vals);
  }
  return rec;
}

Status deserialize_quantized_weights(const Section& s, uint64_t n_weights, uint32_t version,
                                     std::map<int, LoadedQuantWeight>* out) {
  ByteReader r(s);
  uint64_t count = 0;
  SPIRALKIT_RETURN_IF_ERROR(r.count(&count, std::min<uint64_t>(n_weights, r.remaining() / 64)));
  for (uint64_t e = 0; e < count; ++e) {
    int32_t index = 0, zp = 0;
    float x_scale = 0;
    uint32_t kind = 0;
    int32_t f[4];
    int64_t rows = 0, cols = 0;
    SPIRALKIT_RETURN_IF_ERROR(r.i32(&index));
    SPIRALKIT_RETURN_IF_ERROR(r.f32(&x_scale));
    SPIRALKIT_RETURN_IF_ERROR(r.i32(&zp));
    SPIRALKIT_RETURN_IF_ERROR(r.u32(&kind));
    for (int32_t& x : f) SPIRALKIT_RETURN_IF_ERROR(r.i32(&x));
    SPIRALKIT_RETURN_IF_ERROR(r.i64(&rows));
    SPIRALKIT_RETURN_IF_ERROR(r.i64(&cols));
    int64_t taps = 0;
    if (version >= 2) SPIRALKIT_RETURN_IF_ERROR(r.i64(&taps));
    if (index < 0 || static_cast<uint64_t>(index) >= n_weights || out->count(index))
      return Status::FormatError("int8 weight: index " + std::to_string(index) + " out of range or repeated");
    if (kind > static_cast<uint32_t>(PatternKind::kNm)) return Status::FormatError("int8 weight: unknown pattern kind");
    if (rows < 1 || cols < 1 || cols > kQs8MaxCols || rows > (int64_t(1) << 24) || rows * cols > (int64_t(1) << 32))
      return Status::FormatError("int8 weight: size " + std::to_string(rows) + " x " + std::to_string(cols) + " out of range");
    if (taps < 0 || taps == 1 || (taps > 0 && (taps > cols || cols % taps != 0)))
      return Status::FormatError("int8 weight: tap count " + std::to_string(taps) + " does not divide its " +
                                 std::to_string(cols) + " columns");
    Pattern p;
    p.kind = static_cast<PatternKind>(kind);
    p.block_rows = f[0];
    p.block_cols = f[1];
    p.nm_n = f[2];
    p.nm_m = f[3];
    std::vector<float> scales;
    std::vector<uint16_t> counts, kidx;
    std::vector<int8_t> vals;
    SPIRALKIT_RETURN_IF_ERROR(get_array(r, static_cast<uint64_t>(rows), &scales, "scales"));
    SPIRALKIT_RETURN_IF_ERROR(get_array(r, static_cast<uint64_t>(rows), &counts, "block counts"));
    const int64_t groups = (cols + 3) / 4;
    std::vector<int64_t> ptr(static_cast<size_t>(rows) + 1, 0);
    for (int64_t n = 0; n < rows; ++n) {
      if (counts[n] > groups) return Status::FormatError("int8 weight: more blocks in a row than K groups");
      ptr[n + 1] = ptr[n] + counts[n];
    }
    const uint64_t nb = static_cast<uint64_t>(ptr[rows]);
    SPIRALKIT_RETURN_IF_ERROR(get_array(r, nb, &kidx, "group indices"));
    SPIRALKIT_RETURN_IF_ERROR(get_array(r, nb * 4, &vals, "values"));
    std::vector<int8_t> dense(static_cast<size_t>(rows * cols), 0);
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t b = ptr[n]; b < ptr[n + 1]; ++b) {
        if (kidx[b] >= groups) return Status::FormatError("int8 weight: group index out of range");
        for (int j = 0; j < 4; ++j) {
          const int64_t k = int64_t(kidx[b]) * 4 + j;
          if (k < cols) dense[n * cols + k] = vals[b * 4 + j];
          else if (vals[b * 4 + j] != 0) return Status::FormatError("int8 weight: value past the last column");
        }
      }
    if (taps > 0) {  // stored tap-major: back to PyTorch's order
      std::vector<int8_t> natural(dense.size());
      reorder_taps_i8(dense.data(), rows, cols, taps, false, natural.data());
      dense.swap(natural);
    }
    std::unique_ptr<PackedWeightI8> packed;
    SPIRALKIT_RETURN_IF_ERROR(as_format(pack_weight_i8(dense.data(), scales.data(), rows, cols, p, &packed)));
    LoadedQuantWeight lq;
    lq.rows = rows;
    lq.cols = cols;
    lq.taps = taps;
    SPIRALKIT_RETURN_IF_ERROR(as_format(make_quantized_weight(std::shared_ptr<const PackedWeightI8>(std::move(packed)),
                                                              QuantParams{x_scale, zp}, &lq.quant, &lq.twin)));
    (*out)[index] = std::move(lq);
  }
  if (!r.done()) return Status::FormatError("qweights section has trailing bytes");
  return Status::Ok();
}

std::vector<uint8_t> serialize_uint8_values(const Graph& g, const std::vector<int>& id) {
  std::vector<uint8_t> rec;
  uint64_t count = 0;
  for (const Value& v : g.values) count += v.uint8_scale > 0.0f;
  if (!count) return rec;
  ByteWriter w(&rec);
  w.count(count);
  for (size_t v = 0; v < g.values.size(); ++v) {
    if (!(g.values[v].uint8_scale > 0.0f)) continue;
    w.i32(id[v]);
    w.f32(g.values[v].uint8_scale);
    w.i32(g.values[v].uint8_zero_point);
  }
  return rec;
}

Status apply_uint8_values(const Section& s, GraphBuilder* b) {
  ByteReader r(s);
  uint64_t count = 0;
  const uint64_t n_values = b->graph().values.size();
  SPIRALKIT_RETURN_IF_ERROR(r.count(&count, std::min<uint64_t>(n_values, r.remaining() / 12)));
  std::vector<bool> seen(n_values, false);
  for (uint64_t e = 0; e < count; ++e) {
    int32_t value = 0, zp = 0;
    float scale = 0.0f;
    SPIRALKIT_RETURN_IF_ERROR(r.i32(&value));
    SPIRALKIT_RETURN_IF_ERROR(r.f32(&scale));
    SPIRALKIT_RETURN_IF_ERROR(r.i32(&zp));
    if (value < 0 || static_cast<uint64_t>(value) >= n_values || seen[value])
      return Status::FormatError("qvalues: value " + std::to_string(value) + " out of range or repeated");
    seen[value] = true;
    if (Status st = b->set_uint8_params(value, scale, zp); !st.ok()) return Status::FormatError("qvalues: " + st.message());
  }
  if (!r.done()) return Status::FormatError("qvalues section has trailing bytes");
  return Status::Ok();
}

}  // namespace spiralkit

#include "engine/artifact.h"

#include <cstring>
#include <fstream>
#include <map>

#include "engine/artifact_i8.h"
#include "engine/container.h"
#include "graph/shape_inference.h"

namespace spiralkit {
namespace {

constexpr uint32_t kGraphSection = 1, kTensorSection = 2;

struct TensorBlob {
  std::vector<uint8_t> bytes;
  // Appends an array; returns its (offset, byte count).
  std::pair<uint64_t, uint64_t> add(const void* p, size_t n) {
    const uint64_t at = bytes.size();
    if (n) bytes.insert(bytes.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
    return {at, n};
  }
};

void write_dims(ByteWriter& w, const Shape& s) {
  w.count(s.size());
  for (int64_t d : s) w.i64(d);
}

template <class T>
void write_array(ByteWriter& w, TensorBlob& blob, const std::vector<T>& v) {
  auto [at, n] = blob.add(v.data(), v.size() * sizeof(T));
  w.u64(at);
  w.u64(n);
}

Status read_dims(ByteReader& r, Shape* s) {
  uint64_t n = 0;
  SPIRALKIT_RETURN_IF_ERROR(r.count(&n, GraphBuilder::kMaxRank));
  s->resize(n);
  for (auto& d : *s) {
    SPIRALKIT_RETURN_IF_ERROR(r.i64(&d));
    if (d < 0 || d > (int64_t(1) << 40)) return Status::FormatError("dimension out of range");
  }
  return Status::Ok();
}

// Copies an (offset, bytes) range of the tensor section into v, checking it lies inside.
template <class T>
Status read_array(ByteReader& r, const Section& blob, std::vector<T>* v) {
  uint64_t at = 0, n = 0;
  SPIRALKIT_RETURN_IF_ERROR(r.u64(&at));
  SPIRALKIT_RETURN_IF_ERROR(r.u64(&n));
  if (at > blob.bytes || n > blob.bytes - at || n % sizeof(T) != 0)
    return Status::FormatError("tensor range out of the tensor section");
  v->resize(n / sizeof(T));
  if (n) std::memcpy(v->data(), blob.data + at, n);
  return Status::Ok();
}

Status as_format(Status st) {
  return st.ok() || st.code() == StatusCode::kFormatError ? st : Status::FormatError("invalid graph: " + st.message());
}

}  // namespace

Status serialize_graph(const Graph& g, int64_t example_batch, std::vector<uint8_t>* file) {
  std::vector<uint8_t> rec;
  ByteWriter w(&rec);
  TensorBlob blob;
  // Values are renumbered in the order the reader's GraphBuilder creates them.
  std::vector<int> id(g.values.size(), -1);
  int next = 0;
  w.u32(kGraphFormatVersion);
  w.i64(example_batch);
  w.count(g.inputs.size());
  for (int v : g.inputs) {
    const Value& val = g.values[v];
    w.str(val.name);
    w.u32(static_cast<uint32_t>(val.dtype));
    w.u8(val.batched ? 1 : 0);
    write_dims(w, val.dims);
    id[v] = next++;
  }
  uint64_t n_const = 0;
  for (const Value& val : g.values) n_const += val.constant >= 0;
  w.count(n_const);
  for (size_t v = 0; v < g.values.size(); ++v) {
    const Value& val = g.values[v];
    if (val.constant < 0) continue;
    const ConstTensor& c = g.constants[val.constant];
    w.str(val.name);
    w.u32(static_cast<uint32_t>(c.dtype));
    write_dims(w, c.dims);
    if (c.dtype == DType::kFloat32) write_array(w, blob, c.f32); else write_array(w, blob, c.i64);
    id[v] = next++;
  }
  w.count(g.weights.size());
  for (const Weight& wt : g.weights) {
    const PackedWeight& p = *wt.packed;
    w.u32(static_cast<uint32_t>(p.pattern.kind));
    w.i32(p.pattern.block_rows);
    w.i32(p.pattern.block_cols);
    w.i32(p.pattern.nm_n);
    w.i32(p.pattern.nm_m);
    w.i64(p.rows);
    w.i64(p.cols);
    write_dims(w, wt.shape);
    if (wt.quant) {  // stored once, as int8, in the "qweights" section; the arrays here stay empty
      for (int a = 0; a < 4; ++a) write_array(w, blob, std::vector<uint8_t>{});
      continue;
    }
    write_array(w, blob, p.values);
    write_array(w, blob, p.row_ptr);
    write_array(w, blob, p.col_idx);
    write_array(w, blob, p.nm_offsets);
  }
  w.count(g.nodes.size());
  for (const Node& n : g.nodes) {
    w.u32(static_cast<uint32_t>(n.op));
    w.str(n.name);
    w.count(n.inputs.size());
    for (int v : n.inputs) w.i32(v < 0 ? -1 : id[v]);
    w.count(n.outputs.size());
    for (int v : n.outputs) {
      w.str(g.values[v].name);
      id[v] = next++;
    }
    w.count(n.ints.size());
    for (int64_t x : n.ints) w.i64(x);
    w.count(n.floats.size());
    for (float x : n.floats) w.f32(x);
    w.i32(n.weight);
  }
  w.count(g.outputs.size());
  for (int v : g.outputs) w.i32(id[v]);
  for (int x : id)
    if (x < 0) return Status::InvalidArgument("save: the graph holds values no node computes (compact it first)");
  ContainerWriter cw;
  cw.add("graph", kGraphSection, rec.data(), rec.size());
  cw.add("tensors", kTensorSection, blob.bytes.data(), blob.bytes.size());
  const std::vector<uint8_t> qrec = serialize_quantized_weights(g);
  if (!qrec.empty()) cw.add(kQuantSectionName, kQuantSection, qrec.data(), qrec.size());
  const std::vector<uint8_t> vrec = serialize_uint8_values(g, id);
  if (!vrec.empty()) cw.add(kUint8ValuesSectionName, kUint8ValuesSection, vrec.data(), vrec.size());
  SPIRALKIT_RETURN_IF_ERROR(cw.status());
  *file = cw.finish();
  return Status::Ok();
}

Status deserialize_graph(std::vector<uint8_t> file, Graph* out, int64_t* example_batch) {
  ContainerReader cr;
  SPIRALKIT_RETURN_IF_ERROR(ContainerReader::open(std::move(file), &cr));
  Section gs, ts;
  SPIRALKIT_RETURN_IF_ERROR(cr.find("graph", &gs));
  SPIRALKIT_RETURN_IF_ERROR(cr.find("tensors", &ts));
  ByteReader r(gs);
  uint32_t version = 0;
  SPIRALKIT_RETURN_IF_ERROR(r.u32(&version));
  if (version < kOldestGraphFormatVersion || version > kGraphFormatVersion)
    return Status::FormatError("graph format version " + std::to_string(version) + " is not supported (this build reads " +
                               std::to_string(kOldestGraphFormatVersion) + " to " + std::to_string(kGraphFormatVersion) + ")");
  int64_t batch = 0;
  SPIRALKIT_RETURN_IF_ERROR(r.i64(&batch));
  if (batch < 1 || batch > (int64_t(1) << 20)) return Status::FormatError("example batch out of range");
  GraphBuilder b;
  uint64_t n = 0;
  constexpr size_t kMaxName = 4096;
  SPIRALKIT_RETURN_IF_ERROR(r.count(&n, r.remaining() / 8));
  for (uint64_t i = 0; i < n; ++i) {
    std::string name;
    uint32_t dtype = 0;
    Shape dims;
    SPIRALKIT_RETURN_IF_ERROR(r.str(&name, kMaxName));
    SPIRALKIT_RETURN_IF_ERROR(r.u32(&dtype));
    uint8_t batched = 0;
    SPIRALKIT_RETURN_IF_ERROR(r.u8(&batched));
    if (batched > 1) return Status::FormatError("input '" + name + "': bad batched flag");
    SPIRALKIT_RETURN_IF_ERROR(read_dims(r, &dims));
    if (dtype >= static_cast<uint32_t>(DType::kCount)) return Status::FormatError("input '" + name + "': bad dtype");
    int id = 0;
    SPIRALKIT_RETURN_IF_ERROR(as_format(b.add_input(name, static_cast<DType>(dtype), dims, &id, batched == 1)));
  }
  SPIRALKIT_RETURN_IF_ERROR(r.count(&n, r.remaining() / 8));
  for (uint64_t i = 0; i < n; ++i) {
    std::string name;
    uint32_t dtype = 0;
    ConstTensor t;
    SPIRALKIT_RETURN_IF_ERROR(r.str(&name, kMaxName));
    SPIRALKIT_RETURN_IF_ERROR(r.u32(&dtype));
    SPIRALKIT_RETURN_IF_ERROR(read_dims(r, &t.dims));
    if (dtype >= static_cast<uint32_t>(DType::kCount)) return Status::FormatError("constant '" + name + "': bad dtype");
    t.dtype = static_cast<DType>(dtype);
    if (t.dtype == DType::kFloat32) SPIRALKIT_RETURN_IF_ERROR(read_array(r, ts, &t.f32));
    else SPIRALKIT_RETURN_IF_ERROR(read_array(r, ts, &t.i64));
    int id = 0;
    SPIRALKIT_RETURN_IF_ERROR(as_format(b.add_constant(name, std::move(t), &id)));
  }
  SPIRALKIT_RETURN_IF_ERROR(r.count(&n, r.remaining() / 8));
  std::map<int, LoadedQuantWeight> quant;
  if (const Section* qs = cr.get(kQuantSectionName))
    SPIRALKIT_RETURN_IF_ERROR(deserialize_quantized_weights(*qs, n, version, &quant));
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t kind = 0;
    Pattern p;
    int64_t rows = 0, cols = 0;
    Shape shape;
    std::vector<float> values;
    std::vector<int32_t> row_ptr, col_idx;
    std::vector<uint8_t> offsets;
    SPIRALKIT_RETURN_IF_ERROR(r.u32(&kind));
    if (kind > static_cast<uint32_t>(PatternKind::kNm)) return Status::FormatError("weight: unknown pattern kind");
    p.kind = static_cast<PatternKind>(kind);
    int32_t f[4];
    for (int32_t& x : f) SPIRALKIT_RETURN_IF_ERROR(r.i32(&x));
    p.block_rows = f[0];
    p.block_cols = f[1];
    p.nm_n = f[2];
    p.nm_m = f[3];
    SPIRALKIT_RETURN_IF_ERROR(r.i64(&rows));
    SPIRALKIT_RETURN_IF_ERROR(r.i64(&cols));
    SPIRALKIT_RETURN_IF_ERROR(read_dims(r, &shape));
    SPIRALKIT_RETURN_IF_ERROR(read_array(r, ts, &values));
    SPIRALKIT_RETURN_IF_ERROR(read_array(r, ts, &row_ptr));
    SPIRALKIT_RETURN_IF_ERROR(read_array(r, ts, &col_idx));
    SPIRALKIT_RETURN_IF_ERROR(read_array(r, ts, &offsets));
    if (auto q = quant.find(static_cast<int>(i)); q != quant.end()) {
      const int64_t taps = shape.size() == 4 ? shape[2] * shape[3] : 1;
      if (!values.empty() || !row_ptr.empty() || !col_idx.empty() || !offsets.empty() || rows != q->second.rows ||
          cols != q->second.cols || (q->second.taps > 0 && q->second.taps != taps))
        return Status::FormatError("weight " + std::to_string(i) + ": int8 record does not match its graph record");
      int id = 0;
      SPIRALKIT_RETURN_IF_ERROR(as_format(b.add_quantized_weight(q->second.quant, q->second.twin, shape, &id)));
      continue;
    }
    std::vector<float> dense;
    SPIRALKIT_RETURN_IF_ERROR(dense_from_reference(p, rows, cols, values, row_ptr, col_idx, offsets, &dense));
    std::unique_ptr<PackedWeight> packed;
    SPIRALKIT_RETURN_IF_ERROR(as_format(pack_weight(dense.data(), rows, cols, p, &packed)));
    int id = 0;
    SPIRALKIT_RETURN_IF_ERROR(as_format(b.add_weight(std::shared_ptr<const PackedWeight>(std::move(packed)), shape, &id)));
  }
  SPIRALKIT_RETURN_IF_ERROR(r.count(&n, r.remaining() / 16));
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t op = 0;
    std::string name;
    uint64_t k = 0;
    SPIRALKIT_RETURN_IF_ERROR(r.u32(&op));
    if (op >= static_cast<uint32_t>(OpKind::kCount)) return Status::FormatError("node: unknown op " + std::to_string(op));
    SPIRALKIT_RETURN_IF_ERROR(r.str(&name, kMaxName));
    std::vector<int> inputs;
    SPIRALKIT_RETURN_IF_ERROR(r.count(&k, std::min<uint64_t>(4096, r.remaining() / 4)));
    for (uint64_t j = 0; j < k; ++j) {
      int32_t v = 0;
      SPIRALKIT_RETURN_IF_ERROR(r.i32(&v));
      inputs.push_back(v);
    }
    std::vector<std::string> out_names;
    SPIRALKIT_RETURN_IF_ERROR(r.count(&k, std::min<uint64_t>(4096, r.remaining() / 4)));
    for (uint64_t j = 0; j < k; ++j) {
      std::string s;
      SPIRALKIT_RETURN_IF_ERROR(r.str(&s, kMaxName));
      out_names.push_back(std::move(s));
    }
    std::vector<int64_t> ints;
    SPIRALKIT_RETURN_IF_ERROR(r.count(&k, std::min<uint64_t>(4096, r.remaining() / 8)));
    ints.resize(k);
    for (auto& x : ints) SPIRALKIT_RETURN_IF_ERROR(r.i64(&x));
    std::vector<float> floats;
    SPIRALKIT_RETURN_IF_ERROR(r.count(&k, std::min<uint64_t>(64, r.remaining() / 4)));
    floats.resize(k);
    for (auto& x : floats) SPIRALKIT_RETURN_IF_ERROR(r.f32(&x));
    int32_t weight = 0;
    SPIRALKIT_RETURN_IF_ERROR(r.i32(&weight));
    if (out_names.empty()) return Status::FormatError("node '" + name + "': no outputs");
    std::vector<int> outs;
    SPIRALKIT_RETURN_IF_ERROR(as_format(b.add_node(static_cast<OpKind>(op), name, inputs, static_cast<int>(out_names.size()),
                                                   std::move(ints), std::move(floats), weight, &outs, out_names)));
  }
  SPIRALKIT_RETURN_IF_ERROR(r.count(&n, r.remaining() / 4));
  for (uint64_t i = 0; i < n; ++i) {
    int32_t v = 0;
    SPIRALKIT_RETURN_IF_ERROR(r.i32(&v));
    SPIRALKIT_RETURN_IF_ERROR(as_format(b.mark_output(v)));
  }
  if (!r.done()) return Status::FormatError("graph section has trailing bytes");
  if (const Section* vs = cr.get(kUint8ValuesSectionName)) SPIRALKIT_RETURN_IF_ERROR(apply_uint8_values(*vs, &b));
  SPIRALKIT_RETURN_IF_ERROR(as_format(b.finish(batch, out)));
  *example_batch = batch;
  return Status::Ok();
}

Status save_graph(const Graph& g, int64_t example_batch, const std::string& path) {
  std::vector<uint8_t> file;
  SPIRALKIT_RETURN_IF_ERROR(serialize_graph(g, example_batch, &file));
  ContainerReader check;  // never write a file this build could not read back
  std::vector<uint8_t> copy = file;
  SPIRALKIT_RETURN_IF_ERROR(ContainerReader::open(std::move(copy), &check));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Status::InvalidArgument("path: cannot write '" + path + "'");
    f.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    if (!f) return Status::RuntimeError("write failed for '" + path + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::RuntimeError("cannot rename onto '" + path + "'");
  return Status::Ok();
}

Status load_graph(const std::string& path, Graph* g, int64_t* example_batch) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::InvalidArgument("path: cannot open '" + path + "'");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Status st = deserialize_graph(std::move(bytes), g, example_batch);
  if (!st.ok()) return Status(st.code(), "artifact '" + path + "': " + st.message());
  return Status::Ok();
}

}  // namespace spiralkit

// The artifact's int8 layers ("qweights" section): a graph with int8 Linear/Conv2d weights saves,
// loads back to the same bytes and the same outputs, stores its weights ~3x smaller than fp32
// sparse, and mutated copies only ever load or fail with FormatError (never crash). The "qvalues" section
// (calibrated uint8 parameters of intermediates) round-trips and is fuzzed with them.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "engine/artifact.h"
#include "engine/artifact_i8.h"
#include "engine/engine.h"
#include "fuzz_mutate.h"
#include "graph/quantized_weight.h"
#include "test_helpers.h"

using namespace spiralkit;

namespace {

// x[batch, 64] -> int8 Linear 64->48 (ReLU) -> fp32 Linear 48->16; `quantized` false: both fp32.
Graph tiny_mlp(bool quantized) {
  GraphBuilder b;
  int x = 0;
  REQUIRE(b.add_input("x", DType::kFloat32, {1, 64}, &x).ok());
  const Pattern p14{PatternKind::kBlock, 1, 4, 0, 0};
  const std::vector<float> w1 = spiralkit_test::pruned_matrix(48, 64, p14, 0.9, 1);
  const std::vector<float> w2 = spiralkit_test::random_vector(16 * 48, 2);
  int wid1 = 0, wid2 = 0;
  if (quantized) {
    std::unique_ptr<PackedWeightI8> q;
    REQUIRE(quantize_weight_i8(w1.data(), 48, 64, p14, &q).ok());
    std::shared_ptr<const QuantizedWeight> qw;
    std::shared_ptr<const PackedWeight> twin;
    REQUIRE(make_quantized_weight(std::shared_ptr<const PackedWeightI8>(std::move(q)), {0.02f, 128}, &qw, &twin).ok());
    REQUIRE(b.add_quantized_weight(qw, twin, {48, 64}, &wid1).ok());
  } else {
    std::unique_ptr<PackedWeight> f;
    REQUIRE(pack_weight(w1.data(), 48, 64, Pattern{PatternKind::kBlock, 1, 4, 0, 0}, &f).ok());
    REQUIRE(b.add_weight(std::shared_ptr<const PackedWeight>(std::move(f)), {48, 64}, &wid1).ok());
  }
  std::unique_ptr<PackedWeight> f2;
  REQUIRE(pack_weight(w2.data(), 16, 48, Pattern{}, &f2).ok());
  REQUIRE(b.add_weight(std::shared_ptr<const PackedWeight>(std::move(f2)), {16, 48}, &wid2).ok());
  std::vector<int> h, y;
  REQUIRE(b.add_node(OpKind::kLinear, "fc1", {x, -1}, 1, {1, 0}, {}, wid1, &h).ok());
  REQUIRE(b.add_node(OpKind::kLinear, "fc2", {h[0], -1}, 1, {0, 0}, {}, wid2, &y).ok());
  // Calibrated uint8 parameters on an intermediate ("qvalues" section; unused by this plan).
  if (quantized) REQUIRE(b.set_uint8_params(h[0], 0.05f, 3).ok());
  REQUIRE(b.mark_output(y[0]).ok());
  Graph g;
  REQUIRE(b.finish(1, &g).ok());
  return g;
}

Status run(Graph g, int64_t batch, const std::vector<float>& x, std::vector<float>* y) {
  std::unique_ptr<Engine> e;
  SPIRALKIT_RETURN_IF_ERROR(Engine::create(std::move(g), batch, &e));
  const Graph& eg = e->graph();
  if (eg.inputs.size() != 1 || eg.outputs.size() != 1 || eg.values[eg.inputs[0]].dtype != DType::kFloat32 ||
      eg.values[eg.outputs[0]].dtype != DType::kFloat32)
    return Status::InvalidArgument("inputs/outputs changed");
  std::shared_ptr<const Instance> inst;
  SPIRALKIT_RETURN_IF_ERROR(e->instance(batch, &inst));
  int64_t n = 0;
  if (!checked_numel(inst->shapes.shapes[e->graph().outputs[0]], &n) || n > (1 << 20))
    return Status::InvalidArgument("output too large for the test");
  int64_t nx = 0;
  if (!checked_numel(inst->shapes.shapes[e->graph().inputs[0]], &nx) || nx != static_cast<int64_t>(x.size()))
    return Status::InvalidArgument("input shape changed");
  y->assign(static_cast<size_t>(n), 0.0f);
  return e->run(*inst, {x.data()}, {y->data()});
}

// Mutates `bytes` `rounds` times; loads, plans and runs (on x, batch 2) every mutation that loads.
// Returns how many loaded; *wrong_code counts the failures that were not FormatError.
int fuzz_loads(const std::vector<uint8_t>& bytes, uint64_t seed, int rounds, const std::vector<float>& x, int* wrong_code) {
  return spiralkit_test::fuzz_mutations(bytes, seed, rounds, [&](const std::vector<uint8_t>& m) {
    Graph g;
    int64_t batch = 0;
    Status st = deserialize_graph(m, &g, &batch);
    if (!st.ok() && st.code() != StatusCode::kFormatError) ++*wrong_code;
    if (!st.ok()) return st;
    std::vector<float> y;
    return run(std::move(g), 2, x, &y);
  });
}

}  // namespace

TEST_CASE("artifact: int8 layers round-trip (bytes, outputs) and store int8") {
  const Graph g = tiny_mlp(true);
  CHECK(bool(g.weights[0].quant));
  std::vector<uint8_t> bytes, again, fp32_bytes;
  REQUIRE(serialize_graph(g, 1, &bytes).ok());
  REQUIRE(serialize_graph(tiny_mlp(false), 1, &fp32_bytes).ok());
  CHECK(bytes.size() < fp32_bytes.size());  // the int8 layer's record holds no fp32 arrays
  Graph loaded;
  int64_t batch = 0;
  REQUIRE(deserialize_graph(bytes, &loaded, &batch).ok());
  REQUIRE(bool(loaded.weights[0].quant));
  CHECK(!loaded.weights[1].quant);
  REQUIRE(serialize_graph(loaded, batch, &again).ok());
  CHECK(again == bytes);
  int with_params = 0;
  for (const Value& v : loaded.values)
    if (v.uint8_scale > 0.0f) {
      ++with_params;
      CHECK(v.uint8_scale == 0.05f);
      CHECK(v.uint8_zero_point == 3);
    }
  CHECK(with_params == 1);
  const std::vector<float> x = spiralkit_test::random_vector(3 * 64, 9);
  std::vector<float> y0, y1, yf;
  REQUIRE(run(g, 3, x, &y0).ok());
  REQUIRE(run(loaded, 3, x, &y1).ok());
  REQUIRE(run(tiny_mlp(false), 3, x, &yf).ok());
  CHECK(std::memcmp(y0.data(), y1.data(), y0.size() * 4) == 0);
  CHECK(spiralkit_test::max_rel_error(y0, yf) < 0.05f);  // int8 ran, within quantization error
  CHECK(spiralkit_test::max_rel_error(y0, yf) > 0.0f);
}

TEST_CASE("artifact: fuzzed int8 artifacts load or fail with FormatError, never crash") {
  std::vector<uint8_t> bytes;
  REQUIRE(serialize_graph(tiny_mlp(true), 1, &bytes).ok());
  const std::vector<float> x = spiralkit_test::random_vector(2 * 64, 4);
  int wrong_code = 0;
  const int accepted = fuzz_loads(bytes, 0x18, 3000, x, &wrong_code);
  MESSAGE("fuzz: " << accepted << " of 3000 mutated int8 artifacts loaded");
  CHECK(wrong_code == 0);
}

namespace {

// x[1, 4] -> Reshape: a graph with one input value (x) and one node output (y[0]).
void reshape_graph(GraphBuilder* b, int* x, std::vector<int>* y) {
  REQUIRE(b->add_input("x", DType::kFloat32, {1, 4}, x).ok());
  REQUIRE(b->add_node(OpKind::kReshape, "reshape", {*x}, 1, {1, 4}, {}, -1, y).ok());
}

}  // namespace

TEST_CASE("graph: uint8 parameters are refused on inputs, constants and out-of-range values") {
  GraphBuilder b;
  int x = 0;
  std::vector<int> y;
  reshape_graph(&b, &x, &y);
  CHECK(b.set_uint8_params(x, 0.1f, 0).code() == StatusCode::kInvalidArgument);
  CHECK(b.set_uint8_params(y[0] + 1, 0.1f, 0).code() == StatusCode::kInvalidArgument);
  CHECK(b.set_uint8_params(-1, 0.1f, 0).code() == StatusCode::kInvalidArgument);
  CHECK(b.set_uint8_params(y[0], 0.0f, 0).code() == StatusCode::kInvalidArgument);
  CHECK(b.set_uint8_params(y[0], std::nanf(""), 0).code() == StatusCode::kInvalidArgument);
  CHECK(b.set_uint8_params(y[0], 0.1f, 256).code() == StatusCode::kInvalidArgument);
  CHECK(b.set_uint8_params(y[0], 0.1f, -1).code() == StatusCode::kInvalidArgument);
  CHECK(b.set_uint8_params(y[0], 0.1f, 255).ok());
}

namespace {

// x[batch, 8, 6, 6] -> int8 3x3 Conv2d 8->8 (pad 1, ReLU) whose 1x4 blocks run along C_in (4
// input channels of one tap): the file stores it tap-major.
Graph tiny_cin_conv() {
  GraphBuilder b;
  int x = 0;
  REQUIRE(b.add_input("x", DType::kFloat32, {1, 8, 6, 6}, &x).ok());
  const int64_t cout = 8, cin = 8, taps = 9, k = cin * taps;
  const std::vector<float> major = spiralkit_test::pruned_matrix(cout, k, Pattern{PatternKind::kBlock, 1, 4, 0, 0}, 0.75, 5);
  std::vector<float> w(major.size());
  for (int64_t n = 0; n < cout; ++n)
    for (int64_t c = 0; c < cin; ++c)
      for (int64_t t = 0; t < taps; ++t) w[n * k + c * taps + t] = major[n * k + t * cin + c];
  std::unique_ptr<PackedWeightI8> q;
  REQUIRE(quantize_weight_i8(w.data(), cout, k, Pattern{PatternKind::kUnstructured, 1, 1, 0, 0}, &q).ok());
  std::shared_ptr<const QuantizedWeight> qw;
  std::shared_ptr<const PackedWeight> twin;
  REQUIRE(make_quantized_weight(std::shared_ptr<const PackedWeightI8>(std::move(q)), {0.03f, 100}, &qw, &twin).ok());
  int wid = 0;
  REQUIRE(b.add_quantized_weight(qw, twin, {cout, cin, 3, 3}, &wid).ok());
  std::vector<int> y;
  REQUIRE(b.add_node(OpKind::kConv2d, "conv", {x}, 1, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, {}, wid, &y).ok());
  REQUIRE(b.mark_output(y[0]).ok());
  Graph g;
  REQUIRE(b.finish(1, &g).ok());
  return g;
}

}  // namespace

TEST_CASE("artifact: an int8 conv blocked along C_in is stored tap-major, round-trips and fuzzes clean") {
  const Graph g = tiny_cin_conv();
  std::vector<uint8_t> bytes, again;
  REQUIRE(serialize_graph(g, 1, &bytes).ok());
  Graph loaded;
  int64_t batch = 0;
  REQUIRE(deserialize_graph(bytes, &loaded, &batch).ok());
  REQUIRE(serialize_graph(loaded, batch, &again).ok());
  CHECK(again == bytes);
  std::vector<int8_t> a(8 * 72), b(8 * 72);
  g.weights[0].quant->w->to_dense(a.data());
  loaded.weights[0].quant->w->to_dense(b.data());
  CHECK(a == b);  // back in PyTorch's K order
  const std::vector<float> x = spiralkit_test::random_vector(2 * 8 * 36, 6);
  std::vector<float> y0, y1;
  REQUIRE(run(g, 2, x, &y0).ok());
  REQUIRE(run(loaded, 2, x, &y1).ok());
  CHECK(std::memcmp(y0.data(), y1.data(), y0.size() * 4) == 0);
  int wrong_code = 0;
  const int accepted = fuzz_loads(bytes, 0x2c, 3000, x, &wrong_code);
  MESSAGE("fuzz: " << accepted << " of 3000 mutated tap-major int8 artifacts loaded");
  CHECK(wrong_code == 0);
}

namespace {

Section section_of(const std::vector<uint8_t>& bytes) {
  Section s;
  s.data = bytes.data();
  s.bytes = bytes.size();
  return s;
}

}  // namespace

TEST_CASE("artifact: qvalues records out of range, repeated, invalid or trailing are FormatError") {
  GraphBuilder b;
  int x = 0;
  std::vector<int> y;
  reshape_graph(&b, &x, &y);
  auto records = [](std::vector<std::tuple<int32_t, float, int32_t>> rs, bool trailing = false) {
    std::vector<uint8_t> out;
    ByteWriter w(&out);
    w.count(rs.size());
    for (auto [v, scale, zp] : rs) {
      w.i32(v);
      w.f32(scale);
      w.i32(zp);
    }
    if (trailing) w.u8(0);
    return out;
  };
  const std::vector<uint8_t> ok = records({{y[0], 0.1f, 7}});
  CHECK(apply_uint8_values(section_of(ok), &b).ok());
  const std::pair<std::vector<uint8_t>, const char*> bad[] = {
      {records({{y[0] + 1, 0.1f, 7}}), "out of range"},
      {records({{-1, 0.1f, 7}}), "out of range"},
      {records({{y[0], 0.1f, 7}, {y[0], 0.2f, 7}}), "repeated"},
      {records({{y[0], -0.1f, 7}}), "scale"},
      {records({{y[0], 0.1f, 256}}), "zero point"},
      {records({{x, 0.1f, 7}}), "node's output"},
      {records({{y[0], 0.1f, 7}}, true), "trailing"}};
  for (const auto& [bytes, what] : bad) {
    CAPTURE(what);
    const Status st = apply_uint8_values(section_of(bytes), &b);
    CHECK(st.code() == StatusCode::kFormatError);
    CHECK(st.message().find(what) != std::string::npos);
  }
}

TEST_CASE("artifact: an int8 record's tap count must divide its columns") {
  const std::vector<uint8_t> good = serialize_quantized_weights(tiny_cin_conv());
  // The record: count (u64), index, x scale, x zero point, kind (4 x 4 bytes), 4 pattern ints,
  // rows and cols (i64 each), then the tap count (i64).
  const size_t taps_at = 8 + 16 + 16 + 16;
  int64_t stored = 0;
  std::memcpy(&stored, good.data() + taps_at, 8);
  REQUIRE(stored == 9);  // this weight is stored tap-major
  std::map<int, LoadedQuantWeight> out;
  REQUIRE(deserialize_quantized_weights(section_of(good), 1, 2, &out).ok());
  for (int64_t taps : {int64_t(-1), int64_t(1), int64_t(7), int64_t(144)}) {
    CAPTURE(taps);
    std::vector<uint8_t> bad = good;
    std::memcpy(bad.data() + taps_at, &taps, 8);
    out.clear();
    const Status st = deserialize_quantized_weights(section_of(bad), 1, 2, &out);
    CHECK(st.code() == StatusCode::kFormatError);
    CHECK(st.message().find("tap count") != std::string::npos);
  }
  // A version-1 reader of the same bytes has no tap field: it must not read them as valid.
  out.clear();
  CHECK(!deserialize_quantized_weights(section_of(good), 1, 1, &out).ok());
}

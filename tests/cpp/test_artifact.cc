// The artifact reader against real files (tests/cpp/data/*.spk, written by make_artifacts.py from
// torch models through spiralkit.compile): they load and run; and >= 10,000 mutated copies
// (under ASan + UBSan in CI) either load, plan and run, or fail with a Status: never a crash.
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "engine/artifact.h"
#include "engine/engine.h"
#include "fuzz_mutate.h"

using namespace spiralkit;

namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Loads, plans at batch 2 and runs on zero inputs (valid token ids too). Caps sizes so that a
// mutated but well-formed file asking for gigabytes is skipped, not allocated.
Status load_and_run(const std::vector<uint8_t>& bytes) {
  Graph g;
  int64_t batch = 0;
  SPIRALKIT_RETURN_IF_ERROR(deserialize_graph(bytes, &g, &batch));
  std::unique_ptr<Engine> e;
  SPIRALKIT_RETURN_IF_ERROR(Engine::create(std::move(g), batch, &e));
  std::shared_ptr<const Instance> inst;
  SPIRALKIT_RETURN_IF_ERROR(e->instance(2, &inst));
  if (inst->memory.arena_bytes > (int64_t(1) << 26)) return Status::InvalidArgument("too large for the test");
  std::vector<std::vector<int64_t>> storage;  // int64 is wide enough for float32 inputs too
  std::vector<const void*> in;
  std::vector<void*> out;
  for (int v : e->graph().inputs) {
    int64_t n = 0;
    if (!checked_numel(inst->shapes.shapes[v], &n) || n > (1 << 22)) return Status::InvalidArgument("input too large");
    storage.emplace_back(static_cast<size_t>(n), 0);
    in.push_back(storage.back().data());
  }
  for (int v : e->graph().outputs) {
    int64_t n = 0;
    if (!checked_numel(inst->shapes.shapes[v], &n) || n > (1 << 22)) return Status::InvalidArgument("output too large");
    storage.emplace_back(static_cast<size_t>(n), 0);
    out.push_back(storage.back().data());
  }
  return e->run(*inst, in, out);
}

const char* kFiles[] = {"tiny_cnn.spk", "tiny_encoder.spk"};

}  // namespace

TEST_CASE("artifact: the committed real artifacts load and run") {
  for (const char* name : kFiles) {
    CAPTURE(name);
    const Status st = load_and_run(read_file(std::string(SPIRALKIT_TEST_DATA) + "/" + name));
    CHECK_MESSAGE(st.ok(), st.message());
  }
}

TEST_CASE("artifact: save -> load round-trips the graph bytes exactly") {
  // The committed files are graph format version 1 (a build's files are version 2 since int8
  // records carry their K order): loaded and saved again they are version 2, which then
  // round-trips byte for byte.
  for (const char* name : kFiles) {
    const std::vector<uint8_t> bytes = read_file(std::string(SPIRALKIT_TEST_DATA) + "/" + name);
    Graph g, g2;
    int64_t batch = 0, batch2 = 0;
    REQUIRE(deserialize_graph(bytes, &g, &batch).ok());
    std::vector<uint8_t> v2, again;
    REQUIRE(serialize_graph(g, batch, &v2).ok());
    CHECK(v2.size() == bytes.size());  // no int8 weights: only the version differs
    REQUIRE(deserialize_graph(v2, &g2, &batch2).ok());
    REQUIRE(serialize_graph(g2, batch2, &again).ok());
    CHECK(again == v2);
    CHECK(load_and_run(v2).ok());
  }
}

TEST_CASE("artifact: truncated, foreign and empty files are FormatError") {
  const std::vector<uint8_t> bytes = read_file(std::string(SPIRALKIT_TEST_DATA) + "/tiny_cnn.spk");
  Graph g;
  int64_t batch = 0;
  for (size_t cut : {size_t(0), size_t(10), bytes.size() / 2, bytes.size() - 1}) {
    const Status st = deserialize_graph(std::vector<uint8_t>(bytes.begin(), bytes.begin() + cut), &g, &batch);
    CHECK(st.code() == StatusCode::kFormatError);
  }
  std::vector<uint8_t> foreign(4096, 'x');
  CHECK(deserialize_graph(foreign, &g, &batch).code() == StatusCode::kFormatError);
}

TEST_CASE("artifact: fuzzed loader never crashes (>= 10,000 mutated real artifacts)") {
  int accepted = 0, total = 0;
  uint64_t seed = 0xa27;
  for (const char* name : kFiles) {
    const std::vector<uint8_t> bytes = read_file(std::string(SPIRALKIT_TEST_DATA) + "/" + name);
    int wrong_code = 0;
    auto try_load = [&](const std::vector<uint8_t>& m) {
      Graph g;
      int64_t batch = 0;
      Status st = deserialize_graph(m, &g, &batch);
      if (!st.ok() && st.code() != StatusCode::kFormatError) ++wrong_code;  // the reader only says FormatError
      if (!st.ok()) return st;
      return load_and_run(m);
    };
    accepted += spiralkit_test::fuzz_mutations(bytes, seed++, 6000, try_load);
    total += 6000;
    CHECK(wrong_code == 0);
  }
  MESSAGE("fuzz: " << accepted << " of " << total << " mutated artifacts loaded");
  CHECK(total >= 10000);
}

#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "sparse/packed_weight.h"
#include "test_helpers.h"

using spiralkit::Pattern;
using spiralkit::PatternKind;

namespace {
Pattern block(int r, int c) { return Pattern{PatternKind::kBlock, r, c, 0, 0}; }
Pattern nm(int n, int m) { return Pattern{PatternKind::kNm, 1, 1, n, m}; }
}  // namespace

TEST_CASE("every pattern round-trips exactly, including edge rows and columns") {
  const std::vector<Pattern> patterns = {Pattern{},         Pattern{PatternKind::kUnstructured}, block(1, 1),
                                         block(4, 1),       block(8, 1),  block(1, 4), block(16, 16), block(3, 5),
                                         nm(2, 4),          nm(4, 8),     nm(1, 4)};
  for (const auto& p : patterns) {
    for (auto shape : {std::pair<int, int>{1, 1}, {7, 13}, {33, 65}, {16, 16}}) {
      CAPTURE(p.name());
      CAPTURE(shape.first);
      CAPTURE(shape.second);
      auto dense = spiralkit_test::pruned_matrix(shape.first, shape.second, p, 0.6, 42);
      std::unique_ptr<spiralkit::PackedWeight> w;
      REQUIRE(spiralkit::pack_weight(dense.data(), shape.first, shape.second, p, &w).ok());
      std::vector<float> back(dense.size());
      w->to_dense(back.data());
      CHECK(back == dense);
      int64_t nnz = 0;
      for (float v : dense) nnz += v != 0.0f;
      CHECK(w->nnz == nnz);
      CHECK(w->nbytes() > 0);
    }
  }
}

TEST_CASE("a partly zero block is refused and named") {
  std::vector<float> dense(8 * 4, 1.0f);
  dense[5 * 4 + 2] = 0.0f;  // row 5 of the block rows 4..7, column 2
  std::unique_ptr<spiralkit::PackedWeight> w;
  auto st = spiralkit::pack_weight(dense.data(), 8, 4, block(4, 1), &w);
  CHECK(st.code() == spiralkit::StatusCode::kInvalidArgument);
  CHECK(st.message().find("rows 4..7, columns 2..2") != std::string::npos);
}

TEST_CASE("an N:M group with too many non-zeros is refused and named") {
  std::vector<float> dense(2 * 8, 0.0f);
  dense[8 + 4] = dense[8 + 5] = dense[8 + 6] = 1.0f;  // row 1, group 4..7 has three
  std::unique_ptr<spiralkit::PackedWeight> w;
  auto st = spiralkit::pack_weight(dense.data(), 2, 8, nm(2, 4), &w);
  CHECK(st.code() == spiralkit::StatusCode::kInvalidArgument);
  CHECK(st.message().find("row 1, group of columns 4..7") != std::string::npos);
}

TEST_CASE("bad patterns and shapes are refused") {
  std::vector<float> dense(4, 1.0f);
  std::unique_ptr<spiralkit::PackedWeight> w;
  CHECK_FALSE(spiralkit::pack_weight(dense.data(), 2, 2, nm(4, 4), &w).ok());
  CHECK_FALSE(spiralkit::pack_weight(dense.data(), 2, 2, block(0, 1), &w).ok());
  CHECK_FALSE(spiralkit::pack_weight(dense.data(), 0, 2, Pattern{}, &w).ok());
}

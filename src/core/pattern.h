// The pattern of a packed weight. Pattern names are parsed once, in Python
// (python/spiralkit/patterns.py); the core receives the parsed numbers.
#pragma once

#include <string>

namespace spiralkit {

enum class PatternKind : int { kDense = 0, kUnstructured = 1, kBlock = 2, kNm = 3 };

struct Pattern {
  PatternKind kind = PatternKind::kDense;
  int block_rows = 1;
  int block_cols = 1;
  int nm_n = 0;
  int nm_m = 0;

  std::string name() const {
    switch (kind) {
      case PatternKind::kDense: return "dense";
      case PatternKind::kUnstructured: return "unstructured";
      case PatternKind::kBlock: return std::to_string(block_rows) + "x" + std::to_string(block_cols);
      case PatternKind::kNm: return std::to_string(nm_n) + ":" + std::to_string(nm_m);
    }
    return "?";
  }
};

}  // namespace spiralkit

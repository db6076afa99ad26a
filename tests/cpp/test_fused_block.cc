// The fused inverted-residual driver refuses convolutions that do not chain (the engine only
// plans it for chains that do; outputs are covered by tests/python/engine/test_block_fusion.py).
#include <doctest/doctest.h>

#include <vector>

#include "ops/fused_block.h"

TEST_CASE("fused block: a chain that does not fit is refused, not run") {
  spiralkit::FusedBlock b;  // no depthwise, no project
  std::vector<float> x(16), y(16), ws(16);
  CHECK(!spiralkit::fusable_block(b));
  const spiralkit::Status st = spiralkit::fused_block_forward(b, x.data(), y.data(), ws.data());
  CHECK(!st.ok());
  CHECK(st.message().find("do not chain") != std::string::npos);
}

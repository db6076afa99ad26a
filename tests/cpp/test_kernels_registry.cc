// The registry itself: every table is well-formed (its names carry the ISA suffix and block height
// of their row, it ends in a portable row), every family has a row for this architecture, and
// dispatch picks a row of the active ISA. With the per-family harnesses (test_kernels_*.cc, which
// run every allowed row over named edge cases) a new kernel needs one file and one kernel-list.h
// row; SPIRALKIT_CHECK_ROW in the kernel file pins the row's R and tile to its template.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/kernel_registry.h"
#include "hw/cpu_features.h"

using namespace spiralkit;

namespace {

struct RowInfo {
  std::string family, name;
  Isa isa;
  int r;
};

template <typename Row>
void collect(const char* family, const std::vector<Row>& table, std::vector<RowInfo>* out) {
  for (const Row& row : table) out->push_back({family, row.name, row.isa, row.r});
}

std::vector<RowInfo> all_rows() {
  std::vector<RowInfo> rows;
  collect("f32-spmm", spmm_table(), &rows);
  collect("f32-spmv", spmv_table(), &rows);
  collect("f32-transpose", transpose_table(), &rows);
  collect("f32-dwconv", dwconv_table(), &rows);
  collect("f32-gemv", gemv_table(), &rows);
  collect("f32-gemm", gemm_table(), &rows);
  collect("f32-vunary", vunary_table(), &rows);
  collect("f32-softmax", softmax_table(), &rows);
  collect("f32-winograd", winograd_table(), &rows);
  return rows;
}

const char* families[] = {"f32-spmm", "f32-spmv", "f32-transpose", "f32-dwconv",
                          "f32-gemv", "f32-gemm", "f32-vunary",    "f32-softmax", "f32-winograd"};

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

TEST_CASE("registry: each row's name carries its ISA suffix and block height") {
  for (const RowInfo& row : all_rows()) {
    CAPTURE(row.name);
    // spiralkit_<dtype>_<op>_ukernel[_<tile>]__<isa>: the suffix after "__" is the ISA of the row.
    CHECK(ends_with(row.name, std::string("__") + isa_name(row.isa)));
    const std::string prefix = "spiralkit_" + row.family.substr(0, row.family.find('-')) + "_" +
                               row.family.substr(row.family.find('-') + 1) + "_ukernel";
    CHECK(row.name.rfind(prefix, 0) == 0);
    if (row.family == "f32-spmm" || row.family == "f32-spmv")
      CHECK(row.name.find("_" + std::to_string(row.r) + "x1__") != std::string::npos);
  }
}

TEST_CASE("registry: every family ends in a portable row and has a row for this architecture") {
  const std::vector<RowInfo> rows = all_rows();
  for (const char* family : families) {
    CAPTURE(std::string(family));
    bool scalar_last = false, arch = false;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].family != family) continue;
      scalar_last = rows[i].isa == Isa::kScalar;
#if defined(SPIRALKIT_ARCH_arm64)
      arch = arch || rows[i].isa == Isa::kNeon;
#elif defined(SPIRALKIT_ARCH_x86)
      arch = arch || rows[i].isa == Isa::kAvx2;
#else
      arch = true;
#endif
    }
    CHECK(scalar_last);
    CHECK(arch);
  }
}

TEST_CASE("registry: the f32-spmm and f32-spmv tables offer every block height the packer builds") {
  for (int r : {1, 2, 4, 8}) CHECK(select_spmm(r)->r == r);
  for (int r : {1, 4, 8}) CHECK(select_spmv(r)->r == r);
}

TEST_CASE("dispatch: every family's choice is a row of the active ISA (SPIRALKIT_ISA lowers it)") {
  const Isa active = cpu_features().active;
  MESSAGE("active ISA: " << std::string(isa_name(active)));
  // Every architecture level has a row in every family, so dispatch lands exactly on it.
  for (int r : {1, 2, 4, 8}) CHECK(select_spmm(r)->isa == active);
  for (int r : {1, 4, 8}) CHECK(select_spmv(r)->isa == active);
  CHECK(select_transpose()->isa == active);
  CHECK(select_dwconv()->isa == active);
  CHECK(select_gemv()->isa == active);
  CHECK(select_gemm()->isa == active);
  CHECK(select_vunary()->isa == active);
  CHECK(select_softmax()->isa == active);
  CHECK(select_winograd()->isa == active);
}

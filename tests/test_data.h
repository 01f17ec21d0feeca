#pragma once
// Where tests find the shared real data: $DETSLIM_TEST_DATA (CI sets ../shared/data). Tests that
// need it call DETSLIM_REQUIRE_TEST_DATA() and are skipped with the reason when it is unset.

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace detslim::testing {

inline std::filesystem::path testDataDir() {
  const char* dir = std::getenv("DETSLIM_TEST_DATA");
  return dir ? std::filesystem::path(dir) : std::filesystem::path();
}

// ONNX conformance data shipped by Debian's libonnx-testdata.
inline std::filesystem::path onnxTestDataDir() {
  return "/usr/share/libonnx-testdata/data";
}

}  // namespace detslim::testing

#define DETSLIM_REQUIRE_TEST_DATA()                                                         \
  do {                                                                                      \
    if (::detslim::testing::testDataDir().empty() ||                                        \
        !std::filesystem::exists(::detslim::testing::testDataDir() / "MANIFEST.md")) {      \
      GTEST_SKIP() << "DETSLIM_TEST_DATA is unset or holds no MANIFEST.md; set it to the "  \
                      "shared data folder (scripts/test.sh does when ../shared/data exists)"; \
    }                                                                                       \
  } while (0)

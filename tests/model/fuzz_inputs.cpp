// The inputs of the fuzz targets (fuzz/), replayed through the same harness in the normal test
// build (and so under the ASan + UBSan build of the suite too): every seed of fuzz/corpus/ ends as
// fuzz/expected/ says (success, or samba::error with the message given there), and every input
// that once crashed a target (fuzz/regressions/) now ends in samba::error.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../fuzz/harness.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
const fs::path fuzz_dir = SAMBA_FUZZ_DIR;

std::vector<std::uint8_t> read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The files under dir, sorted (none when dir does not exist).
std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Every seed ends as fuzz/expected/<target>.json says: "ok" (the harness gets through it) or a
// piece of the samba::error message it must throw; a seed without an expectation is a failure.
template <class Run>
void replay(const std::string& target, Run run) {
  const auto seeds = files_in(fuzz_dir / "corpus" / target);
  CHECK(!seeds.empty());
  std::ifstream expected_file(fuzz_dir / "expected" / (target + ".json"));
  REQUIRE(expected_file.good());
  const auto expected = nlohmann::json::parse(expected_file);
  CHECK(expected.size() == seeds.size());
  for (const auto& file : seeds) {
    const std::string name = file.filename().string();
    INFO("seed " << file.string());
    REQUIRE(expected.contains(name));
    const auto outcome = expected[name].get<std::string>();
    const auto bytes = read_bytes(file);
    if (outcome == "ok") {
      CHECK_NOTHROW(run(bytes));
    } else {
      CHECK_THROWS_WITH(run(bytes), Catch::Contains(outcome));
    }
  }
  for (const auto& file : files_in(fuzz_dir / "regressions" / target)) {
    INFO("regression " << file.string());
    const auto bytes = read_bytes(file);
    CHECK_THROWS_AS(run(bytes), samba::error);
  }
}

}  // namespace

TEST_CASE("fuzz inputs: the safetensors reader", "[model][safetensors][fuzz]") {
  replay("safetensors", [](std::span<const std::uint8_t> b) { samba_fuzz::safetensors_input(b); });
}

TEST_CASE("fuzz inputs: config.json of every family", "[model][load][fuzz]") {
  replay("config", [](std::span<const std::uint8_t> b) { samba_fuzz::config_input(b); });
}

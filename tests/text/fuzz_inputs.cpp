// The inputs of the tokenizer fuzz target (fuzz/tokenizer.cpp), replayed through the same harness
// here (and so under the ASan + UBSan build too): every seed of fuzz/corpus/tokenizer/ ends as
// fuzz/expected/tokenizer.json says, and every input that once crashed the target
// (fuzz/regressions/tokenizer/) now ends in samba::error or passes.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../fuzz/tokenizer_harness.hpp"

namespace {

namespace fs = std::filesystem;
const fs::path fuzz_dir = SAMBA_FUZZ_DIR;

std::vector<std::uint8_t> read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("fuzz inputs: tokenizer.json files, text and ids", "[text][fuzz]") {
  const auto seeds = files_in(fuzz_dir / "corpus" / "tokenizer");
  CHECK(!seeds.empty());
  std::ifstream expected_file(fuzz_dir / "expected" / "tokenizer.json");
  REQUIRE(expected_file.good());
  const auto expected = nlohmann::json::parse(expected_file);
  CHECK(expected.size() == seeds.size());
  for (const auto& file : seeds) {
    const std::string name = file.filename().string();
    INFO("seed " << file.string());
    REQUIRE(expected.contains(name));
    const auto outcome = expected[name].get<std::string>();
    const auto bytes = read_bytes(file);
    if (outcome == "ok")
      CHECK_NOTHROW(samba_fuzz::tokenizer_input(bytes));
    else
      CHECK_THROWS_WITH(samba_fuzz::tokenizer_input(bytes), Catch::Contains(outcome));
  }
  for (const auto& file : files_in(fuzz_dir / "regressions" / "tokenizer")) {
    INFO("regression " << file.string());
    const auto bytes = read_bytes(file);
    try {
      samba_fuzz::tokenizer_input(bytes);
    } catch (const samba::error&) {
    }
  }
}

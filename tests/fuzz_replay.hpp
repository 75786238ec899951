// Replaying the fuzz targets' inputs (fuzz/) in the normal test builds: tests/model/fuzz_inputs.cpp
// (safetensors, config.json) and tests/text/fuzz_inputs.cpp (the tokenizer).
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace samba::test {

inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The files under dir, sorted (none when dir does not exist).
inline std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  if (std::filesystem::is_directory(dir))
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Every seed of fuzz_dir/corpus/<target>/ ends as fuzz_dir/expected/<target>.json says: "ok" (run
// gets through it) or a piece of the samba::error message it must throw; a seed without an
// expectation is a failure.
template <class Run>
void replay_seeds(const std::filesystem::path& fuzz_dir, const std::string& target, Run run) {
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
      CHECK_NOTHROW(run(std::span<const std::uint8_t>(bytes)));
    } else {
      CHECK_THROWS_WITH(run(std::span<const std::uint8_t>(bytes)), Catch::Contains(outcome));
    }
  }
}

}  // namespace samba::test

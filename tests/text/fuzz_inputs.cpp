// The inputs of the tokenizer fuzz target (fuzz/tokenizer.cpp), replayed through the same harness
// here (and so under the ASan + UBSan build too): every seed of fuzz/corpus/tokenizer/ ends as
// fuzz/expected/tokenizer.json says, and every input that once crashed the target
// (fuzz/regressions/tokenizer/) now ends in samba::error or passes.
#include "../fuzz/tokenizer_harness.hpp"
#include "fuzz_replay.hpp"

TEST_CASE("fuzz inputs: tokenizer.json files, text and ids", "[text][fuzz]") {
  const std::filesystem::path fuzz_dir = SAMBA_FUZZ_DIR;
  samba::test::replay_seeds(fuzz_dir, "tokenizer", [](std::span<const std::uint8_t> b) {
    samba_fuzz::tokenizer_input(b);
  });
  for (const auto& file : samba::test::files_in(fuzz_dir / "regressions" / "tokenizer")) {
    INFO("regression " << file.string());
    try {
      samba_fuzz::tokenizer_input(samba::test::read_bytes(file));
    } catch (const samba::error&) {
    }
  }
}

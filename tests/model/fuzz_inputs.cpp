// The inputs of the fuzz targets (fuzz/), replayed through the same harness in the normal test
// build (and so under the ASan + UBSan build of the suite too): every seed of fuzz/corpus/ ends as
// fuzz/expected/ says (success, or samba::error with the message given there), and every input
// that once crashed a target (fuzz/regressions/) now ends in samba::error.
#include <string>

#include "../fuzz/harness.hpp"
#include "fuzz_replay.hpp"
#include "support.hpp"

namespace {

const std::filesystem::path fuzz_dir = SAMBA_FUZZ_DIR;

template <class Run>
void replay(const std::string& target, Run run) {
  samba::test::replay_seeds(fuzz_dir, target, run);
  for (const auto& file : samba::test::files_in(fuzz_dir / "regressions" / target)) {
    INFO("regression " << file.string());
    const auto bytes = samba::test::read_bytes(file);
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

// libFuzzer target: config.json of every family, loaded against a real checkpoint (see
// harness.hpp).
#include <cstddef>
#include <cstdint>

#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    samba_fuzz::config_input({data, size});
  } catch (const samba::error&) {
  }
  return 0;
}

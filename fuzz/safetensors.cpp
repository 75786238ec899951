// libFuzzer target: the safetensors reader (see harness.hpp for the input format).
#include <cstddef>
#include <cstdint>

#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    samba_fuzz::safetensors_input({data, size});
  } catch (const samba::error&) {
  }
  return 0;
}

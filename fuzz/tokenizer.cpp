// libFuzzer target: tokenizer.json files, and text and ids through real tokenizers (see
// tokenizer_harness.hpp).
#include <cstddef>
#include <cstdint>

#include "tokenizer_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    samba_fuzz::tokenizer_input({data, size});
  } catch (const samba::error&) {
  }
  return 0;
}

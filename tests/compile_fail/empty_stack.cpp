// Must not compile: a HybridStack with an empty layer pattern. The error must say that the pattern
// needs at least one block type (see check_compile_fail.cmake).
// With -DSAMBA_COMPILE_FAIL_CONTROL the pattern has one block and the file compiles.
#include "identity_layer.hpp"

#ifdef SAMBA_COMPILE_FAIL_CONTROL
using Stack = samba::HybridStack<compile_fail::Identity<>>;
#else
using Stack = samba::HybridStack<>;
#endif

int main() {
  Stack::Config config;
  config.n_blocks = 2;
  compile_fail::run<Stack>(config);
}

// Must not compile: a HybridStack whose blocks run on two different backends. The error must say
// that all blocks must use the same backend (see check_compile_fail.cmake).
// With -DSAMBA_COMPILE_FAIL_CONTROL the second block runs on samba::cpu too and the file compiles.
// Both variants also build a stack entirely on the fake backend, so the failure cannot come from
// the fake backend itself.
#include "identity_layer.hpp"

#include <string_view>

// A second backend: all samba::Backend asks for is a name and a buffer type.
struct fake_device {
  static constexpr std::string_view name = "fake_device";
  template <class T>
  using buffer = samba::HostBuffer<T>;
};
static_assert(samba::Backend<fake_device>);

#ifdef SAMBA_COMPILE_FAIL_CONTROL
using SecondBackend = samba::cpu;
#else
using SecondBackend = fake_device;
#endif

int main() {
  using FakeStack = samba::HybridStack<compile_fail::Identity<fake_device>>;
  compile_fail::run<FakeStack>({2, {{8}}});

  using Mlp = samba::PreNorm<samba::SwiGLU<samba::cpu>>;
  using Stack = samba::HybridStack<Mlp, compile_fail::Identity<SecondBackend>>;
  compile_fail::run<Stack>({4, {Mlp::Config{{8, 16}, 1e-5f}, {8}}});
}

// Must not compile: a library layer with a weight type that is not a samba::StorageType (f32, bf16,
// f16). The error must name the StorageType constraint (see check_compile_fail.cmake).
// With -DSAMBA_COMPILE_FAIL_CONTROL the weights are bf16 and the file compiles.
#include <samba/samba.hpp>

#ifdef SAMBA_COMPILE_FAIL_CONTROL
using Weight = samba::bf16;
#else
using Weight = double;
#endif

int main() {
  using Mlp = samba::SwiGLU<samba::cpu, Weight>;
  samba::Random rng(1);
  const Mlp mlp = Mlp::random({8, 16}, rng);
  samba::HostBuffer<float> x(2 * 8), y(2 * 8);
  mlp.forward(x.view<2>({2, 8}), y.view<2>({2, 8}));
}

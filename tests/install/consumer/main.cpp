// A program that uses samba as a user would: one include, one link (samba::samba), a small Samba
// stack with random weights, a few tokens through it. Exits non-zero if the output is not finite.
#include <samba/samba.hpp>

#include <cmath>
#include <cstdio>

int main() {
  using Stack = samba::presets::Samba<>;
  static_assert(samba::Layer<Stack>);

  samba::ModelDims dims;
  dims.d_model = 32;
  dims.n_blocks = 4;  // one repetition of [Mamba, MLP, SWA, MLP]
  dims.n_heads = 4;
  dims.window = 8;
  dims.d_ff = 64;
  const Stack stack = Stack::random(samba::make_config<Stack>(dims), 42);

  const samba::index_t tokens = 5, d = stack.d_model();
  samba::HostBuffer<float> x(tokens * d), y(tokens * d);
  samba::Random rng(7);
  for (float& v : x) v = rng.normal();

  auto state = stack.make_state();
  stack.forward(state, x.view<2>({tokens, d}), y.view<2>({tokens, d}));

  for (const float v : y) {
    if (!std::isfinite(v)) {
      std::fprintf(stderr, "samba consumer: non-finite output %g\n", static_cast<double>(v));
      return 1;
    }
  }
  if (state.position != tokens) {
    std::fprintf(stderr, "samba consumer: state.position is %td, expected %td\n", state.position,
                 tokens);
    return 1;
  }
  std::printf(
      "samba consumer: %td tokens through a %td-block Samba stack (d_model %td), output finite\n",
      tokens, stack.n_blocks(), d);
  return 0;
}

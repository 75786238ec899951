// The smallest user layer: y = x, on any backend B. Shared by the compile-fail cases so that each
// case differs from a valid program in exactly one place.
#pragma once

#include <samba/samba.hpp>

namespace compile_fail {

template <class B = samba::cpu>
class Identity {
 public:
  struct Config {
    samba::index_t d_model = 0;
  };
  using State = samba::NoState;
  using backend_type = B;

  explicit Identity(const Config& config) : config_(config) {}
  static Identity random(const Config& config, samba::Random&) { return Identity(config); }

  samba::index_t d_model() const { return config_.d_model; }
  State make_state() const { return {}; }
  void forward(State&, samba::ConstMatrixView<float> x, samba::MatrixView<float> y) const {
    for (samba::index_t t = 0; t < x.rows(); ++t)
      for (samba::index_t i = 0; i < x.cols(); ++i) y(t, i) = x(t, i);
  }

 private:
  Config config_;
};

// Runs two tokens through a stack built by Stack::random, as a user would.
template <class Stack>
void run(const typename Stack::Config& config) {
  const Stack stack = Stack::random(config, 1);
  const samba::index_t d = stack.d_model();
  samba::HostBuffer<float> x(2 * d), y(2 * d);
  auto state = stack.make_state();
  stack.forward(state, x.view<2>({2, d}), y.view<2>({2, d}));
}

}  // namespace compile_fail

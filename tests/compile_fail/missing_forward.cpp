// Must not compile: a user layer without forward() put into a HybridStack. The error must say, in
// words, that the type does not model samba::Layer (see check_compile_fail.cmake).
// With -DSAMBA_COMPILE_FAIL_CONTROL the layer has forward() and the file compiles.
#include "identity_layer.hpp"

class Halve {
 public:
  struct Config {
    samba::index_t d_model = 0;
  };
  using State = samba::NoState;
  using backend_type = samba::cpu;

  explicit Halve(const Config& config) : config_(config) {}
  static Halve random(const Config& config, samba::Random&) { return Halve(config); }

  samba::index_t d_model() const { return config_.d_model; }
  State make_state() const { return {}; }
#ifdef SAMBA_COMPILE_FAIL_CONTROL
  void forward(State&, samba::ConstMatrixView<float> x, samba::MatrixView<float> y) const {
    for (samba::index_t t = 0; t < x.rows(); ++t)
      for (samba::index_t i = 0; i < x.cols(); ++i) y(t, i) = 0.5f * x(t, i);
  }
#endif

 private:
  Config config_;
};

int main() {
  using Stack = samba::HybridStack<compile_fail::Identity<>, Halve>;
  compile_fail::run<Stack>({4, {{8}, {8}}});
}

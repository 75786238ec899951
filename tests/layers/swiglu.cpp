#include "support.hpp"

using namespace samba;

TEST_CASE("SwiGLU matches the reference on random shapes", "[layers][swiglu]") {
  const index_t d = GENERATE(1, 5, 48);
  const index_t d_ff = GENERATE(3, 37);
  const index_t T = GENERATE(0, 1, 19);
  const auto act = GENERATE(GateActivation::silu, GateActivation::gelu_tanh);  // GeGLU too
  Random rng(static_cast<std::uint64_t>(d * 1000 + d_ff * 10 + T));
  const SwiGLUConfig c{d, d_ff, act};
  auto mlp = SwiGLU<>::random(c, rng);
  auto x = test::random_activations(T, d, 11);
  HostBuffer<float> y(T * d);
  mlp.forward(x.view<2>({T, d}), y.view<2>({T, d}));
  const auto want = reference::forward(mlp, reference::Matrix::from(x.view<2>({T, d})));
  CHECK(test::rel_error(y.view<2>({T, d}), want) <= 1e-5);
}

TEST_CASE("SwiGLU with bf16 and f16 weights computes exactly the reference of the rounded weights",
          "[layers][swiglu][bf16]") {
  const index_t d = 24, d_ff = 40, T = 9;
  Random rng(3);
  const SwiGLUConfig c{d, d_ff};
  const auto w32 = SwiGLUWeights<float>::random(c, rng);
  SwiGLU<cpu, float> f32(c, w32);
  SwiGLU<cpu, bf16> b16(c, w32.to<bf16>());
  SwiGLU<cpu, f16> h16(c, w32.to<f16>());
  auto x = test::random_activations(T, d, 5);
  const auto xv = x.view<2>({T, d});
  HostBuffer<float> y32(T * d), yb(T * d), yh(T * d);
  f32.forward(xv, y32.view<2>({T, d}));
  b16.forward(xv, yb.view<2>({T, d}));
  h16.forward(xv, yh.view<2>({T, d}));
  const auto X = reference::Matrix::from(xv);
  // Against the reference of their own (rounded) weights: f32 compute accuracy.
  CHECK(test::rel_error(yb.view<2>({T, d}), reference::forward(b16, X)) <= 1e-5);
  CHECK(test::rel_error(yh.view<2>({T, d}), reference::forward(h16, X)) <= 1e-5);
  // Against f32 weights: the cost of storing weights in 8 (bf16) or 11 (f16) significant bits.
  const double eb = test::rel_error(yb.view<2>({T, d}), y32.view<2>({T, d}));
  const double eh = test::rel_error(yh.view<2>({T, d}), y32.view<2>({T, d}));
  CHECK(eb <= 1e-2);
  CHECK(eh <= 1.5e-3);
  CHECK(eb > 1e-5);  // the narrow weights really were used
}

TEST_CASE("SwiGLU with narrow weights on tiny shapes (fewer rows than a conversion panel)",
          "[layers][swiglu][bf16]") {
  const index_t d = GENERATE(1, 4, 7), d_ff = GENERATE(2, 9), T = 3;
  Random rng(static_cast<std::uint64_t>(d * 10 + d_ff));
  const SwiGLUConfig c{d, d_ff};
  const auto layer = SwiGLU<cpu, bf16>::random(c, rng);
  auto x = test::random_activations(T, d, 2);
  HostBuffer<float> y(T * d);
  layer.forward(x.view<2>({T, d}), y.view<2>({T, d}));
  CHECK(test::rel_error(y.view<2>({T, d}),
                        reference::forward(layer, reference::Matrix::from(x.view<2>({T, d})))) <=
        1e-5);
}

TEST_CASE("SwiGLU rejects mismatched weights", "[layers][swiglu]") {
  Random rng(1);
  auto w = SwiGLUWeights<float>::random({8, 16}, rng);
  CHECK_THROWS_WITH((SwiGLU<>({8, 12}, w)),
                    "SwiGLU: tensor 'gate' has shape [16, 8], expected [12, 8]");
  CHECK_THROWS_WITH((SwiGLU<>({8, -2}, w)), "SwiGLU: d_ff must be > 0, got -2");
  std::swap(w.up, w.down);
  CHECK_THROWS_WITH((SwiGLU<>({8, 16}, w)), Catch::Contains("tensor 'up' has shape [8, 16]"));
}

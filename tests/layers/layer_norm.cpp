#include "support.hpp"

using namespace samba;

static_assert(Layer<LayerNorm<>> && Layer<PreNorm<SwiGLU<>, LayerNorm<>>>);

TEST_CASE("LayerNorm matches the reference on random shapes", "[layers][layer_norm]") {
  const index_t d = GENERATE(1, 7, 64, 131);
  const index_t T = GENERATE(0, 1, 5, 33);
  Random rng(static_cast<std::uint64_t>(d * 100 + T));
  const LayerNormConfig c{d, 1e-5f};
  const LayerNorm<> norm(c, LayerNormWeights::random(c, rng));
  auto x = test::random_activations(T, d, 7, 3.0f);
  HostBuffer<float> y(T * d);
  norm.forward(x.view<2>({T, d}), y.view<2>({T, d}));
  const auto want = reference::forward(norm, reference::Matrix::from(x.view<2>({T, d})));
  CHECK(test::rel_error(y.view<2>({T, d}), want) <= 1e-6);
}

TEST_CASE("LayerNorm centres each row: rows far from zero keep their precision",
          "[layers][layer_norm]") {
  // x + c for a large c normalises to what x does; the two-pass variance keeps the small spread.
  const index_t d = 96, T = 4;
  Random rng(3);
  const LayerNormConfig c{d, 1e-5f};
  const LayerNorm<> norm(c, LayerNormWeights::random(c, rng));
  auto x = test::random_activations(T, d, 11, 1.0f);
  HostBuffer<float> shifted(T * d), y(T * d), y_shifted(T * d);
  for (index_t i = 0; i < T * d; ++i) shifted[i] = x[i] + 1000.0f;
  norm.forward(x.view<2>({T, d}), y.view<2>({T, d}));
  norm.forward(shifted.view<2>({T, d}), y_shifted.view<2>({T, d}));
  const auto want = reference::forward(norm, reference::Matrix::from(shifted.view<2>({T, d})));
  CHECK(test::rel_error(y_shifted.view<2>({T, d}), want) <= 1e-4);  // x + 1000 is rounded in f32
  CHECK(test::rel_error(y.view<2>({T, d}), want) <= 1e-4);
  // A constant row is its bias (the variance is 0: x − mean vanishes before eps matters).
  HostBuffer<float> flat(d), out(d);
  for (auto& v : flat) v = 5.0f;
  norm.forward(flat.view<2>({1, d}), out.view<2>({1, d}));
  for (index_t i = 0; i < d; ++i) CHECK(out[i] == norm.weights().bias.data()[i]);
}

TEST_CASE("LayerNorm rejects bad input with a message naming the problem", "[layers][layer_norm]") {
  CHECK_THROWS_WITH((LayerNorm<>(LayerNormConfig{0}, {})), "LayerNorm: d_model must be > 0, got 0");
  CHECK_THROWS_WITH((LayerNorm<>(LayerNormConfig{4, -1.0f}, LayerNormWeights::identity({4}))),
                    Catch::Contains("eps must be finite and >= 0"));
  auto w = LayerNormWeights::identity({4});
  w.bias = LayerNormWeights::identity({5}).bias;
  CHECK_THROWS_WITH((LayerNorm<>(LayerNormConfig{4}, w)),
                    "LayerNorm: tensor 'bias' has shape [5], expected [4]");
  const LayerNorm<> norm(LayerNormConfig{4}, LayerNormWeights::identity({4}));
  HostBuffer<float> x(3 * 5), y(3 * 4);
  CHECK_THROWS_WITH(norm.forward(x.view<2>({3, 5}), y.view<2>({3, 4})),
                    "LayerNorm: input has 5 features per token, expected 4");
}

TEST_CASE(
    "PreNorm takes LayerNorm as its norm: blocks and stacks match the reference, chunked "
    "== whole",
    "[layers][layer_norm][stack]") {
  using Mlp = PreNorm<SwiGLU<>, LayerNorm<>>;
  using Mixer = PreNorm<MambaLayer<>, LayerNorm<>>;
  Random rng(21);
  const index_t d = 12, T = 17;
  const Mlp mlp = Mlp::random({{d, 20}, 1e-5f}, rng);
  CHECK(mlp.parameter_count() == 2 * static_cast<std::size_t>(d) + 3 * d * 20);
  const auto x = test::random_activations(T, d, 5);
  HostBuffer<float> y(T * d);
  auto st = mlp.make_state();
  mlp.forward(st, x.view<2>({T, d}), y.view<2>({T, d}));
  const auto x_ref = reference::Matrix::from(x.view<2>({T, d}));
  CHECK(test::rel_error(y.view<2>({T, d}), reference::forward(mlp, x_ref)) <= 1e-5);

  // [Mamba, MLP] × 2 with LayerNorm blocks: whole, in chunks, and against the reference.
  using Stack = HybridStack<Mixer, Mlp>;
  const auto stack = Stack::build(4, [&]<class Block>(std::type_identity<Block>, index_t) {
    if constexpr (std::is_same_v<Block, Mlp>)
      return Mlp::random({{d, 20}, 1e-5f}, rng);
    else
      return Mixer::random({test::small_mamba(d, 4, 4), 1e-5f}, rng);
  });
  HostBuffer<float> whole(T * d), chunked(T * d);
  auto s1 = stack.make_state();
  stack.forward(s1, x.view<2>({T, d}), whole.view<2>({T, d}));
  auto s2 = stack.make_state();
  for (index_t t0 = 0; t0 < T; t0 += 5) {
    const index_t n = std::min<index_t>(5, T - t0);
    stack.forward(s2, x.view<2>({T, d}).slice(t0, n), chunked.view<2>({T, d}).slice(t0, n));
  }
  CHECK(test::rel_error(chunked.view<2>({T, d}), reference::Matrix::from(whole.view<2>({T, d}))) <=
        1e-5);
  CHECK(test::rel_error(whole.view<2>({T, d}), reference::forward(stack, x_ref)) <= 1e-5);
}

#include "support.hpp"

using namespace samba;

TEST_CASE("RMSNorm matches the reference on random shapes", "[layers][rmsnorm]") {
  const index_t d = GENERATE(1, 7, 64, 131);
  const index_t T = GENERATE(0, 1, 5, 33);
  Random rng(static_cast<std::uint64_t>(d * 100 + T));
  const RMSNormConfig c{d, 1e-5f};
  RMSNorm<> norm(c, RMSNormWeights::random(c, rng));
  auto x = test::random_activations(T, d, 7, 3.0f);
  HostBuffer<float> y(T * d);
  norm.forward(x.view<2>({T, d}), y.view<2>({T, d}));
  const auto want = reference::forward(norm, reference::Matrix::from(x.view<2>({T, d})));
  CHECK(test::rel_error(y.view<2>({T, d}), want) <= 1e-6);
}

TEST_CASE("RMSNorm rejects bad input with a message naming the problem", "[layers][rmsnorm]") {
  CHECK_THROWS_WITH((RMSNorm<>(RMSNormConfig{0}, {})), "RMSNorm: d_model must be > 0, got 0");
  CHECK_THROWS_WITH((RMSNorm<>(RMSNormConfig{4, -1.0f}, RMSNormWeights::ones({4}))),
                    Catch::Contains("eps must be finite and >= 0"));
  CHECK_THROWS_WITH((RMSNorm<>(RMSNormConfig{4}, RMSNormWeights::ones({5}))),
                    "RMSNorm: tensor 'weight' has shape [5], expected [4]");
  RMSNorm<> norm(RMSNormConfig{4}, RMSNormWeights::ones({4}));
  HostBuffer<float> x(3 * 5), y(3 * 4);
  CHECK_THROWS_WITH(norm.forward(x.view<2>({3, 5}), y.view<2>({3, 4})),
                    "RMSNorm: input has 5 features per token, expected 4");
  CHECK_THROWS_WITH(norm.forward(x.view<2>({2, 4}), y.view<2>({3, 4})),
                    "RMSNorm: input has 2 tokens but output has 3");
  CHECK_THROWS_WITH(norm.forward(y.view<2>({3, 4}), y.view<2>({3, 4})),
                    Catch::Contains("must not overlap"));
}

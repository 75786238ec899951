// FeedForward (relu² MLP) on the CPU against the double-precision reference: odd sizes, every
// weight type, rows of any count; bad weights.
#include <samba/cpu/feed_forward.hpp>
#include <samba/reference/feed_forward.hpp>

#include "support.hpp"

using namespace samba;

TEST_CASE("FeedForward matches the reference", "[layers][feed_forward]") {
  const auto [d, ff, T] = GENERATE(
      table<index_t, index_t, index_t>({{8, 24, 1}, {13, 7, 5}, {16, 40, 33}, {24, 64, 70}}));
  INFO("d_model " << d << " d_ff " << ff << " T " << T);
  Random rng(static_cast<std::uint64_t>(d * 100 + ff));
  const auto layer = FeedForward<>::random({d, ff}, rng);
  const FeedForward<cpu, bf16> half({d, ff}, layer.weights().to<bf16>());
  auto x = test::random_activations(T, d, 3);
  const auto xv = x.view<2>({T, d});
  HostBuffer<float> y(T * d), yh(T * d);
  layer.forward(xv, y.view<2>({T, d}));
  half.forward(xv, yh.view<2>({T, d}));
  // Two products in a row: twice the linear kernels' bound (bf16 on the tile unit splits x).
  CHECK(
      test::rel_error(y.view<2>({T, d}), reference::forward(layer, reference::Matrix::from(xv))) <=
      2 * test::linear_tolerance<float>());
  CHECK(
      test::rel_error(yh.view<2>({T, d}), reference::forward(half, reference::Matrix::from(xv))) <=
      2 * test::linear_tolerance<bf16>());
}

TEST_CASE("FeedForward: weights that do not fit are errors", "[layers][feed_forward]") {
  Random rng(2);
  auto w = FeedForwardWeights<>::random({8, 16}, rng);
  CHECK_THROWS_WITH(
      FeedForward<>({8, 12}, w),
      Catch::Contains("FeedForward: tensor 'up' has shape [16, 8], expected [12, 8]"));
  CHECK_THROWS_WITH(FeedForward<>::random({8, 0}, rng), Catch::Contains("d_ff"));
}

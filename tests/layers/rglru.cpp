// RGLRULayer on the CPU against the double-precision reference (reference/rglru.hpp): one gate
// block and several, conv widths 1 to 4, the reset at position 0; whole, chunked, token by token
// and ragged batches; bf16 weights; bad configs and weights.
#include <samba/cpu/rglru.hpp>
#include <samba/reference/rglru.hpp>

#include "support.hpp"

using namespace samba;

using test::small_rglru;

TEST_CASE("RGLRULayer matches the reference, whole, chunked and token by token",
          "[layers][rglru]") {
  const auto [d, width, heads, conv] = GENERATE(table<index_t, index_t, index_t, index_t>(
      {{8, 8, 1, 4}, {12, 16, 4, 4}, {10, 12, 3, 2}, {6, 10, 2, 1}}));
  INFO("d_model " << d << " lru_width " << width << " heads " << heads << " conv " << conv);
  Random rng(static_cast<std::uint64_t>(d * 100 + width));
  const auto layer = RGLRULayer<>::random(small_rglru(d, width, heads, conv), rng);
  const index_t T = 50;
  auto x = test::random_activations(T, d, 3);
  const auto xv = x.view<2>({T, d});
  const auto want = reference::forward(layer, reference::Matrix::from(xv));
  CHECK(test::rel_error(test::run_chunked(layer, xv, {T}).view<2>({T, d}), want) <= 2e-5);
  CHECK(test::rel_error(test::run_chunked(layer, xv, {1}).view<2>({T, d}), want) <= 2e-5);
  CHECK(test::rel_error(test::run_chunked(layer, xv, {2, 0, 1, 30, 3}).view<2>({T, d}), want) <=
        2e-5);
}

TEST_CASE("RGLRULayer: bf16 weights, a ragged batch, and the state's size",
          "[layers][rglru][batch]") {
  const auto c = small_rglru(12, 16, 4, 4);
  Random rng(4);
  const auto layer = RGLRULayer<>::random(c, rng);
  const RGLRULayer<cpu, bf16> half(c, layer.weights().to<bf16>());
  const index_t T = 40, d = 12;
  auto x = test::random_activations(T, d, 8);
  const auto xv = x.view<2>({T, d});
  CHECK(test::rel_error(test::run_chunked(half, xv, {T}).view<2>({T, d}),
                        reference::forward(half, reference::Matrix::from(xv))) <=
        2 * test::linear_tolerance<bf16>() + 2e-5);

  const std::vector<index_t> lens = {17, 1, 22};
  const auto states = test::check_batch_equals_alone(layer, xv, lens);
  for (std::size_t i = 0; i < lens.size(); ++i) CHECK(states[i].position == lens[i]);
  // Conv tail and h: the same size after 1 token and after 22.
  CHECK(states[1].bytes() == states[2].bytes());
  CHECK(states[1].bytes() == static_cast<std::size_t>((3 + 1) * 16) * sizeof(float));
}

TEST_CASE("RGLRULayer: configs and weights that do not fit are errors", "[layers][rglru]") {
  Random rng(1);
  CHECK_THROWS_WITH(RGLRULayer<>::random(small_rglru(8, 10, 3, 4), rng),
                    Catch::Contains("lru_width (10) is not a multiple of n_heads (3)"));
  const auto good = small_rglru(8, 8, 2, 4);
  auto w = RGLRUWeights<>::random(good, rng);
  w.recurrent_param = Tensor<float>(Shape{3}, HostBuffer<float>(3));
  CHECK_THROWS_WITH(RGLRULayer<>(good, w), Catch::Contains("RGLRULayer: tensor 'recurrent_param' "
                                                           "has shape [3], expected [8]"));
  const auto a = RGLRULayer<>::random(good, rng);
  const auto b = RGLRULayer<>::random(small_rglru(8, 8, 2, 3), rng);
  auto sb = b.make_state();
  HostBuffer<float> x(8), y(8);
  CHECK_THROWS_WITH(
      a.forward(sb, x.view<2>({1, 8}), y.view<2>({1, 8})),
      Catch::Contains("RGLRULayer: state of a layer with lru_width 8 and conv_width 3"));
}

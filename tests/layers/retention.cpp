// MultiScaleRetention on the CPU against the double-precision reference (reference/retention.hpp):
// one head and several (each with its own fixed decay), shared kv heads, the short conv, with and
// without the output gate, RoPE at positions carried across calls; whole, chunked (past the
// recurrence's chunk), token by token and ragged batches; bf16 weights; bad configs and weights.
#include <samba/cpu/retention.hpp>
#include <samba/reference/retention.hpp>

#include "support.hpp"

using namespace samba;

using test::small_retention;

TEST_CASE("MultiScaleRetention matches the reference, whole, chunked and token by token",
          "[layers][retention]") {
  // d_model, heads, kv heads, key_dim, value_dim, conv size, output gate
  const auto [d, H, Hkv, kd, vd, conv, gate] =
      GENERATE(table<index_t, index_t, index_t, index_t, index_t, index_t, bool>(
          {{8, 2, 0, 8, 16, 0, true},
           {12, 4, 2, 16, 12, 4, true},
           {10, 1, 0, 6, 9, 2, false},
           {16, 8, 1, 16, 32, 3, true}}));
  const auto c = small_retention(d, H, Hkv, kd, vd, conv, gate);
  INFO("d_model " << d << " heads " << H << " kv heads " << Hkv << " key_dim " << kd
                  << " value_dim " << vd << " conv " << conv << (gate ? " gated" : ""));
  Random rng(static_cast<std::uint64_t>(d * 100 + kd + vd));
  const auto layer = MultiScaleRetention<>::random(c, rng);
  const index_t T = 90;  // longer than a recurrence chunk (64)
  auto x = test::random_activations(T, d, 3);
  const auto xv = x.view<2>({T, d});
  const auto want = reference::forward(layer, reference::Matrix::from(xv));
  const auto whole = test::run_chunked(layer, xv, {T});
  const auto tokens = test::run_chunked(layer, xv, {1});
  const auto mixed = test::run_chunked(layer, xv, {2, 0, 1, 30, 3, 13});
  CHECK(test::rel_error(whole.view<2>({T, d}), want) <= 2e-5);
  CHECK(test::rel_error(tokens.view<2>({T, d}), want) <= 2e-5);
  CHECK(test::rel_error(mixed.view<2>({T, d}), want) <= 2e-5);
}

TEST_CASE("MultiScaleRetention: bf16 weights, and a ragged batch equals each sequence alone",
          "[layers][retention][batch]") {
  const auto c = small_retention(12, 4, 2, 16, 12, 4, true);
  Random rng(4);
  const auto layer = MultiScaleRetention<>::random(c, rng);
  const MultiScaleRetention<cpu, bf16> half(c, layer.weights().to<bf16>());
  const index_t T = 70, d = 12;
  auto x = test::random_activations(T, d, 8);
  const auto xv = x.view<2>({T, d});
  const auto want = reference::forward(half, reference::Matrix::from(xv));
  CHECK(test::rel_error(test::run_chunked(half, xv, {T}).view<2>({T, d}), want) <= 2e-5);

  const std::vector<index_t> lens = {30, 1, 39};
  const auto states = test::check_batch_equals_alone(layer, xv, lens);
  for (std::size_t i = 0; i < lens.size(); ++i) CHECK(states[i].position == lens[i]);
}

TEST_CASE("MultiScaleRetention: the decays are fla's, 1 − 2^(−5−h)", "[layers][retention]") {
  CHECK(std::exp(RetentionConfig::log_decay(0)) == Approx(1.0 - 1.0 / 32.0).epsilon(1e-15));
  CHECK(std::exp(RetentionConfig::log_decay(3)) == Approx(1.0 - 1.0 / 256.0).epsilon(1e-15));
}

TEST_CASE("MultiScaleRetention: configs and weights that do not fit are errors",
          "[layers][retention]") {
  Random rng(1);
  using L = MultiScaleRetention<>;
  CHECK_THROWS_WITH(L::random(small_retention(8, 3, 0, 8, 9), rng),
                    Catch::Contains("key_dim (8) is not a positive multiple of n_heads (3)"));
  CHECK_THROWS_WITH(L::random(small_retention(8, 2, 0, 6, 8), rng),
                    Catch::Contains("key width (3) must be even"));
  CHECK_THROWS_WITH(L::random(small_retention(8, 4, 3, 8, 8), rng),
                    Catch::Contains("n_kv_heads (3) does not divide n_heads (4)"));
  const auto good = small_retention(8, 2, 0, 8, 8);
  auto w = RetentionWeights<>::random(good, rng);
  w.norm_weight = Tensor<float>(Shape{3}, HostBuffer<float>(3));
  CHECK_THROWS_WITH(L(good, w), Catch::Contains("MultiScaleRetention: tensor 'norm_weight' has "
                                                "shape [3], expected [4]"));
  const auto a = L::random(good, rng);
  const auto b = L::random(small_retention(8, 2, 0, 4, 8), rng);
  auto sb = b.make_state();
  HostBuffer<float> x(8), y(8);
  CHECK_THROWS_WITH(a.forward(sb, x.view<2>({1, 8}), y.view<2>({1, 8})),
                    Catch::Contains("MultiScaleRetention: state of a layer with"));
}

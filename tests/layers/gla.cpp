// GatedLinearAttention on the CPU against the double-precision reference (reference/gla.hpp):
// one head and several, shared kv heads, the short conv, with and without the output gate, a
// clamped decay; whole, chunked (past the recurrence's chunk and stepped lengths), token by token
// and ragged batches; bf16 weights; bad configs and weights.
#include <samba/cpu/gla.hpp>
#include <samba/reference/gla.hpp>

#include "support.hpp"

using namespace samba;

using test::small_gla;

TEST_CASE("GatedLinearAttention matches the reference, whole, chunked and token by token",
          "[layers][gla]") {
  // d_model, heads, kv heads, key_dim, value_dim, gate rank, conv size, output gate
  const auto [d, H, Hkv, kd, vd, rank, conv, gate] =
      GENERATE(table<index_t, index_t, index_t, index_t, index_t, index_t, index_t, bool>(
          {{8, 2, 0, 4, 8, 4, 0, true},
           {12, 4, 2, 8, 12, 3, 4, true},
           {10, 1, 0, 17, 9, 16, 2, false},
           {16, 4, 1, 16, 32, 5, 3, true}}));
  const bool clamp = GENERATE(false, true);
  auto c = small_gla(d, H, Hkv, kd, vd, rank, conv, gate);
  if (clamp) c.clamp_min = -0.05f;  // the random gate's log decays reach about −0.1
  INFO("d_model " << d << " heads " << H << " kv heads " << Hkv << " key_dim " << kd
                  << " value_dim " << vd << " rank " << rank << " conv " << conv
                  << (gate ? " gated" : "") << (clamp ? " clamped" : ""));
  Random rng(static_cast<std::uint64_t>(d * 100 + kd + vd));
  const auto layer = GatedLinearAttention<>::random(c, rng);
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

TEST_CASE("GatedLinearAttention: bf16 weights, and a ragged batch equals each sequence alone",
          "[layers][gla][batch]") {
  const auto c = small_gla(12, 4, 2, 8, 12, 3, 4);
  Random rng(4);
  const auto layer = GatedLinearAttention<>::random(c, rng);
  const GatedLinearAttention<cpu, bf16> half(c, layer.weights().to<bf16>());
  const index_t T = 70, d = 12;
  auto x = test::random_activations(T, d, 8);
  const auto xv = x.view<2>({T, d});
  const auto want = reference::forward(half, reference::Matrix::from(xv));
  CHECK(test::rel_error(test::run_chunked(half, xv, {T}).view<2>({T, d}), want) <= 2e-5);

  // Three sequences of 30 + 1 + 39 rows in one call, each against itself alone.
  test::check_batch_equals_alone(layer, xv, {30, 1, 39});
}

TEST_CASE("GatedLinearAttention: configs and weights that do not fit are errors", "[layers][gla]") {
  Random rng(1);
  using L = GatedLinearAttention<>;
  CHECK_THROWS_WITH(L::random(small_gla(8, 3, 0, 4, 9), rng),
                    Catch::Contains("key_dim (4) is not a positive multiple of n_heads (3)"));
  CHECK_THROWS_WITH(L::random(small_gla(8, 2, 0, 4, 5), rng),
                    Catch::Contains("value_dim (5) is not a positive multiple of n_heads (2)"));
  CHECK_THROWS_WITH(L::random(small_gla(8, 4, 3, 8, 8), rng),
                    Catch::Contains("n_kv_heads (3) does not divide n_heads (4)"));
  auto c = small_gla(8, 2, 0, 4, 8);
  c.clamp_min = 0.5f;
  CHECK_THROWS_WITH(L::random(c, rng), Catch::Contains("clamp_min must be <= 0"));

  const auto good = small_gla(8, 2, 0, 4, 8);
  auto w = GLAWeights<>::random(good, rng);
  w.gk_bias = Tensor<float>(Shape{3}, HostBuffer<float>(3));
  CHECK_THROWS_WITH(L(good, w),
                    Catch::Contains("GatedLinearAttention: tensor 'gk_bias' has shape [3], "
                                    "expected [4]"));
  auto conv = GLAWeights<>::random(small_gla(8, 2, 0, 4, 8, 4, 3), rng);
  CHECK_THROWS_WITH(L(good, conv), Catch::Contains("conv weights given to a layer without"));

  const auto a = L::random(good, rng);
  const auto b = L::random(small_gla(8, 2, 0, 8, 8), rng);
  auto sb = b.make_state();
  HostBuffer<float> x(8), y(8);
  CHECK_THROWS_WITH(a.forward(sb, x.view<2>({1, 8}), y.view<2>({1, 8})),
                    Catch::Contains("GatedLinearAttention: state of a layer with"));
}

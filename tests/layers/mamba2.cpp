// Mamba2Layer on the CPU against the double-precision reference (reference/mamba2.hpp): random
// shapes with groups, several heads, state sizes on both sides of a register, the time-step clamp
// and both gated-norm groupings; whole, chunked (past the stepped path's length), token by token
// and ragged batches; bf16 weights; bad configs and weights.
#include <samba/cpu/mamba2.hpp>
#include <samba/reference/mamba2.hpp>

#include "support.hpp"

using namespace samba;

using test::small_mamba2;

TEST_CASE("Mamba2Layer matches the reference, whole, chunked and token by token",
          "[layers][mamba2]") {
  // d_model, d_inner, head_dim, d_state, n_groups, d_conv, norm_group
  const auto [d, di, P, N, G, K, ng] =
      GENERATE(table<index_t, index_t, index_t, index_t, index_t, index_t, index_t>(
          {{8, 16, 4, 5, 1, 4, 0},
           {12, 24, 6, 16, 2, 4, 12},
           {10, 32, 8, 17, 4, 2, 8},
           {7, 14, 14, 3, 1, 1, 7}}));
  const bool clamp = GENERATE(false, true);
  auto c = small_mamba2(d, di, P, N, G, K, ng);
  if (clamp) {  // Δ of the random init lies in [1e-3, 0.1]: the clamp bites on both sides
    c.dt_min = 0.01f;
    c.dt_max = 0.05f;
  }
  INFO("d_model " << d << " d_inner " << di << " head_dim " << P << " d_state " << N << " groups "
                  << G << " d_conv " << K << " norm_group " << ng << (clamp ? " clamped" : ""));
  Random rng(static_cast<std::uint64_t>(d * 100 + di + N));
  const auto layer = Mamba2Layer<>::random(c, rng);
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

TEST_CASE("Mamba2Layer: bf16 weights, and a ragged batch equals each sequence alone",
          "[layers][mamba2][batch]") {
  const auto c = small_mamba2(12, 24, 6, 8, 2);
  Random rng(4);
  const auto layer = Mamba2Layer<>::random(c, rng);
  const Mamba2Layer<cpu, bf16> half(c, layer.weights().to<bf16>());
  const index_t T = 70, d = 12;
  auto x = test::random_activations(T, d, 8);
  const auto xv = x.view<2>({T, d});
  const auto want = reference::forward(half, reference::Matrix::from(xv));
  CHECK(test::rel_error(test::run_chunked(half, xv, {T}).view<2>({T, d}), want) <= 2e-5);

  // Three sequences of 30 + 1 + 39 rows in one call, each against itself alone.
  test::check_batch_equals_alone(layer, xv, {30, 1, 39});
}

TEST_CASE("Mamba2Layer: configs and weights that do not fit are errors", "[layers][mamba2]") {
  Random rng(1);
  CHECK_THROWS_WITH(Mamba2Layer<>::random(small_mamba2(8, 16, 5, 4, 1), rng),
                    Catch::Contains("d_inner (16) is not a multiple of head_dim (5)"));
  CHECK_THROWS_WITH(Mamba2Layer<>::random(small_mamba2(8, 16, 4, 4, 3), rng),
                    Catch::Contains("n_groups (3) does not divide the heads (4"));
  CHECK_THROWS_WITH(Mamba2Layer<>::random(small_mamba2(8, 16, 4, 4, 1, 4, 5), rng),
                    Catch::Contains("norm_group (5) does not divide d_inner (16)"));
  auto c = small_mamba2(8, 16, 4, 4, 1);
  c.dt_min = 0.1f;
  c.dt_max = 0.01f;
  CHECK_THROWS_WITH(Mamba2Layer<>::random(c, rng), Catch::Contains("time step limit"));

  const auto good = small_mamba2(8, 16, 4, 4, 2);
  auto w = Mamba2Weights<>::random(good, rng);
  w.A_log = Tensor<float>(Shape{3}, HostBuffer<float>(3));
  CHECK_THROWS_WITH(Mamba2Layer<>(good, w),
                    Catch::Contains("Mamba2Layer: tensor 'A_log' has shape [3], expected [4]"));

  const auto a = Mamba2Layer<>::random(good, rng);
  const auto b = Mamba2Layer<>::random(small_mamba2(8, 16, 4, 8, 2), rng);
  auto sb = b.make_state();
  HostBuffer<float> x(8), y(8);
  CHECK_THROWS_WITH(a.forward(sb, x.view<2>({1, 8}), y.view<2>({1, 8})),
                    Catch::Contains("Mamba2Layer: state of a layer with conv_dim 48"));
}

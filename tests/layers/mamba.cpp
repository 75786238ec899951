#include "support.hpp"

using namespace samba;

namespace {
MambaConfig small_mamba(index_t d_model, index_t d_state, index_t d_conv, index_t expand = 2,
                        index_t dt_rank = 0) {
  MambaConfig c;
  c.d_model = d_model;
  c.d_state = d_state;
  c.d_conv = d_conv;
  c.expand = expand;
  c.dt_rank = dt_rank;
  return c;
}
}  // namespace

TEST_CASE("MambaConfig defaults follow the paper", "[layers][mamba]") {
  MambaConfig c;
  c.d_model = 1536;
  CHECK(c.d_state == 16);
  CHECK(c.d_conv == 4);
  CHECK(c.d_inner() == 3072);
  CHECK(c.resolved_dt_rank() == 96);
  c.d_model = 2305;
  CHECK(c.resolved_dt_rank() == 145);  // ceil(2305 / 16)
}

TEST_CASE("MambaLayer matches the reference on random shapes", "[layers][mamba]") {
  const auto [d, n, k] = GENERATE(table<index_t, index_t, index_t>(
      {{1, 1, 1}, {5, 3, 2}, {8, 16, 4}, {13, 7, 3}, {32, 16, 4}}));
  const index_t T = GENERATE(1, 3, 40);
  Random rng(static_cast<std::uint64_t>(d * 31 + n * 7 + k + T * 1000));
  const auto layer = MambaLayer<>::random(small_mamba(d, n, k), rng);
  auto x = test::random_activations(T, d, 17);
  auto state = layer.make_state();
  HostBuffer<float> y(T * d);
  layer.forward(state, x.view<2>({T, d}), y.view<2>({T, d}));
  const auto want = reference::forward(layer, reference::Matrix::from(x.view<2>({T, d})));
  INFO("d_model " << d << " d_state " << n << " d_conv " << k << " T " << T);
  CHECK(test::rel_error(y.view<2>({T, d}), want) <= 2e-5);
}

TEST_CASE("MambaLayer: chunked, whole and token-by-token runs agree", "[layers][mamba]") {
  const index_t d = 12, T = 61;
  Random rng(5);
  const auto layer = MambaLayer<>::random(small_mamba(d, 6, 4, 2, 3), rng);
  auto x = test::random_activations(T, d, 23);
  const auto xv = x.view<2>({T, d});
  const auto whole = test::run_chunked(layer, xv, {T});
  const auto tokens = test::run_chunked(layer, xv, {1});
  // Odd chunk sizes, including chunks shorter than the conv window and empty chunks.
  const auto mixed = test::run_chunked(layer, xv, {2, 0, 1, 7, 3, 13});
  CHECK(test::rel_error(tokens.view<2>({T, d}), whole.view<2>({T, d})) <= 1e-5);
  CHECK(test::rel_error(mixed.view<2>({T, d}), whole.view<2>({T, d})) <= 1e-5);
  const auto want = reference::forward(layer, reference::Matrix::from(xv));
  CHECK(test::rel_error(tokens.view<2>({T, d}), want) <= 2e-5);
}

TEST_CASE("MambaLayer state has a constant size and snapshots by copy", "[layers][mamba]") {
  const index_t d = 8;
  Random rng(9);
  const auto c = small_mamba(d, 16, 4);
  const auto layer = MambaLayer<>::random(c, rng);
  auto state = layer.make_state();
  const std::size_t bytes = state.bytes();
  CHECK(bytes == sizeof(float) * static_cast<std::size_t>((c.d_conv - 1) * c.d_inner() +
                                                          c.d_inner() * c.d_state));
  auto x = test::random_activations(100, d, 1);
  HostBuffer<float> y(100 * d), y1(10 * d), y2(10 * d);
  layer.forward(state, x.view<2>({100, d}), y.view<2>({100, d}));
  CHECK(state.bytes() == bytes);
  // A snapshot continues exactly like the original.
  auto snapshot = state;
  auto more = test::random_activations(10, d, 2);
  layer.forward(state, more.view<2>({10, d}), y1.view<2>({10, d}));
  layer.forward(snapshot, more.view<2>({10, d}), y2.view<2>({10, d}));
  CHECK(test::max_abs_diff(y1.view<2>({10, d}), y2.view<2>({10, d})) == 0.0);
}

TEST_CASE("MambaLayer with bf16 weights stays close to f32", "[layers][mamba][bf16]") {
  const index_t d = 16, T = 33;
  Random rng(4);
  const auto c = small_mamba(d, 8, 4);
  const auto w = MambaWeights<float>::random(c, rng);
  MambaLayer<cpu, float> f32(c, w);
  MambaLayer<cpu, bf16> b16(c, w.to<bf16>());
  auto x = test::random_activations(T, d, 3);
  const auto xv = x.view<2>({T, d});
  const auto y32 = test::run_chunked(f32, xv, {T});
  const auto yb = test::run_chunked(b16, xv, {5});
  CHECK(test::rel_error(yb.view<2>({T, d}), reference::forward(b16, reference::Matrix::from(xv))) <=
        2e-5);
  CHECK(test::rel_error(yb.view<2>({T, d}), y32.view<2>({T, d})) <= 2e-2);
}

TEST_CASE("MambaLayer rejects bad configs, weights and states", "[layers][mamba]") {
  Random rng(1);
  CHECK_THROWS_WITH(MambaLayer<>::random(small_mamba(0, 16, 4), rng),
                    "MambaLayer: d_model must be > 0, got 0");
  CHECK_THROWS_WITH(MambaLayer<>::random(small_mamba(8, -1, 4), rng),
                    "MambaLayer: d_state must be > 0, got -1");
  CHECK_THROWS_WITH(MambaLayer<>::random(small_mamba(8, 4, 0), rng),
                    "MambaLayer: d_conv must be > 0, got 0");
  auto w = MambaWeights<float>::random(small_mamba(8, 4, 4), rng);
  CHECK_THROWS_WITH((MambaLayer<>(small_mamba(8, 5, 4), w)),
                    "MambaLayer: tensor 'x_proj' has shape [9, 16], expected [11, 16]");
  w.A_log = Tensor<float>{};
  CHECK_THROWS_WITH((MambaLayer<>(small_mamba(8, 4, 4), w)),
                    Catch::Contains("tensor 'A_log' is missing"));

  const auto a = MambaLayer<>::random(small_mamba(8, 4, 4), rng);
  const auto b = MambaLayer<>::random(small_mamba(12, 4, 4), rng);
  auto sb = b.make_state();
  HostBuffer<float> x(8), y(8);
  CHECK_THROWS_WITH(a.forward(sb, x.view<2>({1, 8}), y.view<2>({1, 8})),
                    Catch::Contains("MambaLayer: state of a layer with d_inner 24"));
}

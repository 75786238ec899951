#include "support.hpp"

using namespace samba;

namespace {

using test::diff_config;

// The shared layer's keys and values of the whole sequence, as the reference computes them.
template <class L>
std::pair<reference::Matrix, reference::Matrix> reference_kv(const L& layer,
                                                             const reference::Matrix& x) {
  const auto& c = layer.config();
  const auto qkv = reference::linear(x, layer.weights().wqkv, layer.weights().bqkv);
  return {reference::columns(qkv, c.q_dim(), c.kv_dim()),
          reference::columns(qkv, c.q_dim() + c.kv_dim(), c.kv_dim())};
}

}  // namespace

TEST_CASE("DifferentialAttention matches the reference on random shapes",
          "[layers][differential_attention]") {
  // (d_model, heads, kv heads, head_dim): GQA ratios 1, 2 and 4, odd head sizes, head_dim from
  // d_model / heads.
  const auto [d, nh, nkv, hd] = GENERATE(table<index_t, index_t, index_t, index_t>(
      {{8, 2, 2, 4}, {12, 4, 2, 3}, {20, 8, 4, 5}, {24, 8, 2, 0}, {7, 4, 4, 9}}));
  const index_t W = GENERATE(1, 3, 17);
  const index_t T = GENERATE(1, 9, 70);
  Random rng(static_cast<std::uint64_t>(d * 1000 + W * 10 + T));
  const auto cfg = diff_config(d, nh, nkv, hd, W, static_cast<index_t>(T % 7));
  const auto swa = SlidingDifferentialAttention<>::random(cfg, rng);
  const auto full = CausalDifferentialAttention<>::random(cfg, rng);
  auto x = test::random_activations(T, d, 41);
  const auto xv = x.view<2>({T, d});
  INFO("d " << d << " heads " << nh << "/" << nkv << " head_dim " << hd << " W " << W << " T "
            << T);
  CHECK(test::rel_error(test::run_chunked(swa, xv, {T}).view<2>({T, d}),
                        reference::forward(swa, reference::Matrix::from(xv))) <= 1e-5);
  CHECK(test::rel_error(test::run_chunked(full, xv, {T}).view<2>({T, d}),
                        reference::forward(full, reference::Matrix::from(xv))) <= 1e-5);
}

TEST_CASE("DifferentialAttention: chunked, whole and token-by-token runs agree",
          "[layers][differential_attention]") {
  const index_t d = 16, W = 6, T = 5 * W + 4;
  Random rng(5);
  const auto cfg = diff_config(d, 4, 2, 4, W, 17);
  const auto swa = SlidingDifferentialAttention<>::random(cfg, rng);
  const auto full = CausalDifferentialAttention<>::random(cfg, rng);
  auto x = test::random_activations(T, d, 43);
  const auto xv = x.view<2>({T, d});
  for (const bool sliding : {true, false}) {
    INFO((sliding ? "sliding" : "causal"));
    auto run = [&](const std::vector<index_t>& chunks) {
      return sliding ? test::run_chunked(swa, xv, chunks) : test::run_chunked(full, xv, chunks);
    };
    const auto whole = run({T});
    const auto tokens = run({1});
    const auto mixed = run({3, 0, W, 1, 2 * W + 1});  // shorter, equal, longer than W; empty
    CHECK(test::rel_error(tokens.view<2>({T, d}), whole.view<2>({T, d})) <= 1e-5);
    CHECK(test::rel_error(mixed.view<2>({T, d}), whole.view<2>({T, d})) <= 1e-5);
    const auto want = sliding ? reference::forward(swa, reference::Matrix::from(xv))
                              : reference::forward(full, reference::Matrix::from(xv));
    CHECK(test::rel_error(tokens.view<2>({T, d}), want) <= 1e-5);
  }
  // The sliding cache never holds more than W keys.
  auto state = swa.make_state();
  HostBuffer<float> y(T * d);
  swa.forward(state, xv, y.view<2>({T, d}));
  CHECK(state.capacity == W);
  CHECK(state.position == T);
}

TEST_CASE("DifferentialAttention: a ragged batch equals its sequences run alone",
          "[layers][differential_attention]") {
  const index_t d = 12, T = 23;
  Random rng(8);
  const auto swa = SlidingDifferentialAttention<>::random(diff_config(d, 4, 2, 3, 5), rng);
  auto x = test::random_activations(T, d, 47);
  test::check_batch_equals_alone(swa, x.view<2>({T, d}), {7, 0, 1, 15});
}

TEST_CASE("DifferentialAttention with bf16 and f16 weights matches the reference of its weights",
          "[layers][differential_attention]") {
  const index_t d = 20, T = 33;
  Random rng(9);
  const auto cfg = diff_config(d, 4, 2, 5, 8);
  const auto w = DiffAttentionWeights<float>::random(cfg, false, rng);
  auto x = test::random_activations(T, d, 53);
  const auto xv = x.view<2>({T, d});
  const SlidingDifferentialAttention<cpu, bf16> b(cfg, w.to<bf16>());
  const SlidingDifferentialAttention<cpu, f16> h(cfg, w.to<f16>());
  CHECK(test::rel_error(test::run_chunked(b, xv, {5}).view<2>({T, d}),
                        reference::forward(b, reference::Matrix::from(xv))) <= 1e-4);
  CHECK(test::rel_error(test::run_chunked(h, xv, {5}).view<2>({T, d}),
                        reference::forward(h, reference::Matrix::from(xv))) <= 1e-4);
}

TEST_CASE("DifferentialCrossAttention reads the shared layer's cache, chunk by chunk",
          "[layers][differential_attention]") {
  const auto [nh, nkv] = GENERATE(table<index_t, index_t>({{4, 2}, {8, 2}, {4, 4}}));
  const index_t d = 16, T = 29;
  Random rng(static_cast<std::uint64_t>(nh * 10 + nkv));
  const auto cfg = diff_config(d, nh, nkv, 4, 0, 17);
  const auto shared = CausalDifferentialAttention<>::random(cfg, rng);
  auto cross_cfg = cfg;
  cross_cfg.layer_index = 19;
  const auto cross = DifferentialCrossAttention<>::random(cross_cfg, rng);
  // The cross layer's input differs from the shared layer's (other blocks run in between).
  auto x = test::random_activations(T, d, 59), xc = test::random_activations(T, d, 61);
  const auto xv = x.view<2>({T, d}), xcv = xc.view<2>({T, d});
  const auto [k, v] = reference_kv(shared, reference::Matrix::from(xv));
  const auto want = reference::forward(cross, reference::Matrix::from(xcv), k, v);
  for (const index_t chunk : {T, index_t{1}, index_t{4}}) {
    INFO("chunk " << chunk);
    auto state = shared.make_state();
    HostBuffer<float> ys(T * d), y(T * d);
    for (index_t t = 0; t < T; t += chunk) {
      const index_t n = std::min(chunk, T - t);
      shared.forward(state, xv.slice(t, n), ys.view<2>({T, d}).slice(t, n));
      const DiffAttentionCache<cpu>* sources[] = {&state};
      const index_t lengths[] = {n};
      cross.forward_batch(sources, lengths, xcv.slice(t, n), y.view<2>({T, d}).slice(t, n));
    }
    CHECK(test::rel_error(y.view<2>({T, d}), want) <= 1e-5);
  }
}

TEST_CASE("DifferentialAttention refuses bad configs and weights with a clear error",
          "[layers][differential_attention]") {
  Random rng(1);
  CHECK_THROWS_WITH(SlidingDifferentialAttention<>::random(diff_config(12, 3, 3, 4, 4), rng),
                    Catch::Contains("must be even"));
  CHECK_THROWS_WITH(SlidingDifferentialAttention<>::random(diff_config(16, 4, 0, 4, 0), rng),
                    Catch::Contains("window must be > 0"));
  CHECK_THROWS_WITH(CausalDifferentialAttention<>::random(diff_config(16, 4, 6, 4, 0), rng),
                    Catch::Contains("divisible by n_kv_heads"));
  const auto cfg = diff_config(16, 4, 2, 4, 4);
  auto w = DiffAttentionWeights<float>::random(cfg, false, rng);
  auto bad = w;
  bad.lambda_k2 = Tensor<float>(Shape{5}, HostBuffer<float>(5));
  CHECK_THROWS_WITH(SlidingDifferentialAttention<>(cfg, bad), Catch::Contains("lambda_k2"));
  auto no_bias = cfg;
  no_bias.output_bias = false;
  CHECK_THROWS_WITH(SlidingDifferentialAttention<>(no_bias, w), Catch::Contains("'bo' given"));
  CHECK_THROWS_WITH(DifferentialCrossAttention<>(cfg, w), Catch::Contains("wqkv"));
  // A cross layer reads only a causal cache that holds its tokens.
  const auto cross = DifferentialCrossAttention<>::random(cfg, rng);
  const auto swa = SlidingDifferentialAttention<>::random(cfg, rng);
  auto ring = swa.make_state();
  HostBuffer<float> x(16), y(16);
  const DiffAttentionCache<cpu>* sources[] = {&ring};
  const index_t lengths[] = {1};
  CHECK_THROWS_WITH(cross.forward_batch(sources, lengths, x.view<2>({1, 16}), y.view<2>({1, 16})),
                    Catch::Contains("needs a causal cache"));
}

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "support.hpp"

using namespace samba;

using test::attn_config;

TEST_CASE("SlidingWindowAttention matches the reference on random shapes", "[layers][attention]") {
  const auto [d, nh, nkv, hd, rd] = GENERATE(table<index_t, index_t, index_t, index_t, index_t>(
      {{8, 2, 1, 4, 4}, {12, 3, 3, 4, 2}, {20, 6, 2, 6, 0}, {7, 4, 2, 8, 6}, {32, 4, 4, 8, -1}}));
  const index_t W = GENERATE(1, 3, 16, 200);
  const index_t T = GENERATE(1, 9, 70);
  Random rng(static_cast<std::uint64_t>(d * 1000 + W * 10 + T));
  const auto layer =
      SlidingWindowAttention<>::random(attn_config(d, nh, nkv, hd, W, rd, 500.0), rng);
  auto x = test::random_activations(T, d, 29);
  auto state = layer.make_state();
  HostBuffer<float> y(T * d);
  layer.forward(state, x.view<2>({T, d}), y.view<2>({T, d}));
  INFO("d " << d << " heads " << nh << "/" << nkv << " head_dim " << hd << " rotary " << rd << " W "
            << W << " T " << T);
  CHECK(test::rel_error(y.view<2>({T, d}),
                        reference::forward(layer, reference::Matrix::from(x.view<2>({T, d})))) <=
        1e-5);
}

TEST_CASE("CausalAttention matches the reference", "[layers][attention]") {
  const index_t d = 24, T = GENERATE(1, 65, 150);
  Random rng(static_cast<std::uint64_t>(T));
  const auto layer = CausalAttention<>::random(attn_config(d, 6, 2, 4, 0), rng);
  auto x = test::random_activations(T, d, 31);
  const auto y = test::run_chunked(layer, x.view<2>({T, d}), {T});
  CHECK(test::rel_error(y.view<2>({T, d}),
                        reference::forward(layer, reference::Matrix::from(x.view<2>({T, d})))) <=
        1e-5);
}

TEST_CASE("Attention: chunked, whole and token-by-token runs agree over many windows",
          "[layers][attention]") {
  const index_t d = 16, W = 7, T = 5 * W + 3;
  Random rng(12);
  const auto cfg = attn_config(d, 4, 2, 4, W);
  const auto swa = SlidingWindowAttention<>::random(cfg, rng);
  const auto full = CausalAttention<>::random(cfg, rng);
  auto x = test::random_activations(T, d, 37);
  const auto xv = x.view<2>({T, d});
  for (const auto* name : {"sliding", "causal"}) {
    SECTION(name) {
      auto run = [&](const std::vector<index_t>& chunks) {
        return std::string(name) == "sliding" ? test::run_chunked(swa, xv, chunks)
                                              : test::run_chunked(full, xv, chunks);
      };
      const auto whole = run({T});
      const auto tokens = run({1});
      // Chunks shorter than, equal to and longer than the window; empty chunks too.
      const auto mixed = run({3, 0, W, 1, 2 * W + 1});
      CHECK(test::rel_error(tokens.view<2>({T, d}), whole.view<2>({T, d})) <= 1e-5);
      CHECK(test::rel_error(mixed.view<2>({T, d}), whole.view<2>({T, d})) <= 1e-5);
      const auto want = std::string(name) == "sliding"
                            ? reference::forward(swa, reference::Matrix::from(xv))
                            : reference::forward(full, reference::Matrix::from(xv));
      CHECK(test::rel_error(mixed.view<2>({T, d}), want) <= 1e-5);
    }
  }
}

TEST_CASE("SlidingWindowAttention with W >= T equals causal attention", "[layers][attention]") {
  const index_t d = 12, T = 30;
  Random rng(2);
  const auto cfg = attn_config(d, 3, 1, 4, T);
  const auto weights = AttentionWeights<float>::random(cfg, rng);
  SlidingWindowAttention<> swa(cfg, weights);
  CausalAttention<> full(cfg, weights);
  auto x = test::random_activations(T, d, 3);
  const auto a = test::run_chunked(swa, x.view<2>({T, d}), {4, 11});
  const auto b = test::run_chunked(full, x.view<2>({T, d}), {4, 11});
  CHECK(test::max_abs_diff(a.view<2>({T, d}), b.view<2>({T, d})) == 0.0);
}

TEST_CASE("GQA with duplicated KV heads equals multi-head attention", "[layers][attention]") {
  // A GQA layer (6 query heads sharing 2 KV heads) equals an MHA layer (6 KV heads) whose KV head h
  // is a copy of the GQA layer's KV head h / 3.
  const index_t d = 18, nh = 6, nkv = 2, hd = 4, T = 25, W = 9;
  Random rng(8);
  const auto gqa_cfg = attn_config(d, nh, nkv, hd, W);
  const auto gqa_w = AttentionWeights<float>::random(gqa_cfg, rng);
  auto repeat_heads = [&](const Tensor<float>& w) {
    HostBuffer<float> out(nh * hd * d);
    for (index_t h = 0; h < nh; ++h)
      std::copy_n(w.data() + (h / (nh / nkv)) * hd * d, hd * d, out.data() + h * hd * d);
    return Tensor<float>(Shape{nh * hd, d}, std::move(out));
  };
  const AttentionWeights<float> mha_w{gqa_w.wq, repeat_heads(gqa_w.wk), repeat_heads(gqa_w.wv),
                                      gqa_w.wo};
  SlidingWindowAttention<> gqa(gqa_cfg, gqa_w);
  SlidingWindowAttention<> mha(attn_config(d, nh, 0, hd, W), mha_w);  // n_kv_heads 0: = n_heads
  auto x = test::random_activations(T, d, 4);
  const auto a = test::run_chunked(gqa, x.view<2>({T, d}), {T});
  const auto b = test::run_chunked(mha, x.view<2>({T, d}), {T});
  CHECK(test::rel_error(a.view<2>({T, d}), b.view<2>({T, d})) <= 1e-6);
}

TEST_CASE("KV cache: a ring of W rows for sliding window, growing for causal",
          "[layers][attention]") {
  const index_t d = 8, W = 20;
  Random rng(6);
  const auto cfg = attn_config(d, 2, 1, 4, W);
  const auto swa = SlidingWindowAttention<>::random(cfg, rng);
  const auto full = CausalAttention<>::random(cfg, rng);
  auto s = swa.make_state();
  auto f = full.make_state();
  auto x = test::random_activations(1, d, 1);
  HostBuffer<float> y(d);
  const std::size_t row_bytes = 2 * sizeof(float) * static_cast<std::size_t>(cfg.kv_dim());
  for (index_t t = 0; t < 10 * W; ++t) {
    swa.forward(s, x.view<2>({1, d}), y.view<2>({1, d}));
    full.forward(f, x.view<2>({1, d}), y.view<2>({1, d}));
  }
  CHECK(s.position == 10 * W);
  CHECK(s.capacity == W);
  CHECK(s.bytes() == static_cast<std::size_t>(W) * row_bytes);
  CHECK(f.capacity >= 10 * W);
  CHECK(f.bytes() >= static_cast<std::size_t>(10 * W) * row_bytes);
}

TEST_CASE("Attention rejects bad configs and states", "[layers][attention]") {
  Random rng(1);
  CHECK_THROWS_WITH(SlidingWindowAttention<>::random(attn_config(8, 2, 1, 4, 0), rng),
                    "SlidingWindowAttention: window must be > 0, got 0");
  CHECK_THROWS_WITH(SlidingWindowAttention<>::random(attn_config(12, 3, 2, 4, 8), rng),
                    "SlidingWindowAttention: n_heads (3) must be divisible by n_kv_heads (2)");
  CHECK_THROWS_WITH(CausalAttention<>::random(attn_config(8, 0, 1, 4, 8), rng),
                    "CausalAttention: n_heads must be > 0, got 0");
  CHECK_THROWS_WITH(CausalAttention<>::random(attn_config(8, 2, 1, 4, 8, 3), rng),
                    Catch::Contains("rotary_dims must be even and in [0, head_dim = 4], got 3"));
  CHECK_THROWS_WITH(CausalAttention<>::random(attn_config(10, 3, 1, 0, 8), rng),
                    Catch::Contains("d_model (10) is not divisible by n_heads (3)"));
  auto w = AttentionWeights<float>::random(attn_config(8, 2, 1, 4, 8), rng);
  CHECK_THROWS_WITH((SlidingWindowAttention<>(attn_config(8, 2, 2, 4, 8), w)),
                    "SlidingWindowAttention: tensor 'wk' has shape [4, 8], expected [8, 8]");

  const auto a = SlidingWindowAttention<>::random(attn_config(8, 2, 1, 4, 8), rng);
  const auto b = SlidingWindowAttention<>::random(attn_config(8, 2, 2, 4, 8), rng);
  const auto c = SlidingWindowAttention<>::random(attn_config(8, 2, 1, 4, 9), rng);
  HostBuffer<float> x(8), y(8);
  auto sb = b.make_state();
  auto sc = c.make_state();
  CHECK_THROWS_WITH(a.forward(sb, x.view<2>({1, 8}), y.view<2>({1, 8})),
                    Catch::Contains("state of a layer with kv_dim 8"));
  CHECK_THROWS_WITH(a.forward(sc, x.view<2>({1, 8}), y.view<2>({1, 8})),
                    Catch::Contains("cache limit 9"));
}

// The CPU kernel's two regimes (cpu/attention.hpp) over long histories: prefill-sized chunks (tiles
// of queries against many key blocks, a ring that wraps) and decode-sized ones (T · n_heads ≤ 32:
// every head in one task, the keys split over threads and the partial softmaxes merged).
TEST_CASE("Attention over long histories: prefill tiles and split decode agree with the reference",
          "[layers][attention]") {
#if defined(_OPENMP)
  const int threads = omp_get_max_threads();
  omp_set_num_threads(3);  // three key splits from ~1500 visible keys
#endif
  // head_dim 20: the 16-wide dot products and their tail both run.
  const index_t d = 16, T = 2300;
  const auto cfg = attn_config(d, 4, 2, 20, 1500);
  Random rng(41);
  const auto swa = SlidingWindowAttention<>::random(cfg, rng);
  const auto full = CausalAttention<>::random(cfg, rng);
  auto x = test::random_activations(T, d, 43);
  const auto xv = x.view<2>({T, d});
  // 1000 tokens at once, 40 single tokens, chunks of 7 (28 rows: decode-sized), then 900 at once.
  std::vector<index_t> chunks{1000};
  for (int i = 0; i < 40; ++i) chunks.push_back(1);
  for (int i = 0; i < 50; ++i) chunks.push_back(7);
  chunks.push_back(T);
  const auto ys = test::run_chunked(swa, xv, chunks);
  const auto yc = test::run_chunked(full, xv, chunks);
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#endif
  CHECK(test::rel_error(ys.view<2>({T, d}), reference::forward(swa, reference::Matrix::from(xv))) <=
        1e-5);
  CHECK(test::rel_error(yc.view<2>({T, d}),
                        reference::forward(full, reference::Matrix::from(xv))) <= 1e-5);
}

// The CUDA backend's layers against the plain-loop references, on random shapes (odd sizes
// included), in every weight type; chunked == whole == token by token on the device.
#include "support.cuh"

namespace samba {
namespace {

using test::as_matrix;
using test::rel_error;
using test::run_chunked;
using test::run_whole;

TEST_CASE("CUDA RMSNorm matches the reference", "[cuda][rmsnorm]") {
  for (const index_t d : {1, 5, 64, 130, 2304}) {
    for (const index_t T : {1, 7, 33}) {
      CAPTURE(d, T);
      Random rng(static_cast<std::uint64_t>(d * 100 + T));
      const RMSNormConfig c{d, 1e-5f};
      const RMSNorm<cuda> norm(c, RMSNormWeights::random(c, rng));
      const auto x = test::random_activations(T, d, 7);
      const auto y = run_whole(norm, x, d);
      CHECK(rel_error(y, reference::forward(norm, as_matrix(x, d))) < 1e-6);
    }
  }
}

TEST_CASE("CUDA LayerNorm matches the reference", "[cuda][layer_norm]") {
  for (const index_t d : {1, 6, 64, 131, 2560}) {
    for (const index_t T : {1, 7, 33}) {
      CAPTURE(d, T);
      Random rng(static_cast<std::uint64_t>(d * 100 + T));
      const LayerNormConfig c{d, 1e-5f};
      const LayerNorm<cuda> norm(c, LayerNormWeights::random(c, rng));
      const auto x = test::random_activations(T, d, 7);
      const auto y = run_whole(norm, x, d);
      CHECK(rel_error(y, reference::forward(norm, as_matrix(x, d))) < 1e-6);
    }
  }
}

TEMPLATE_TEST_CASE("CUDA SwiGLU matches the reference (GEMV and cuBLAS paths)", "[cuda][swiglu]",
                   float, bf16, f16) {
  using W = TestType;
  // T ≤ 8 runs the weight-streaming GEMV; more rows run cuBLAS. d_model 37: the GEMV's unaligned
  // path; 64 and 96: its vector path.
  for (const index_t d : {37, 64, 96}) {
    for (const index_t T : {1, 3, 8, 9, 40}) {
      CAPTURE(d, T);
      Random rng(static_cast<std::uint64_t>(d + T));
      const auto mlp = SwiGLU<cuda, W>::random({d, 2 * d + 3}, rng);
      const auto x = test::random_activations(T, d, 11);
      const auto y = run_whole(mlp, x, d);
      CHECK(rel_error(y, reference::forward(mlp, as_matrix(x, d))) < test::tolerance_v<W>);
    }
  }
}

TEMPLATE_TEST_CASE("CUDA MambaLayer matches the reference, chunked == whole == step",
                   "[cuda][mamba]", float, bf16) {
  using W = TestType;
  struct Case {
    index_t d_model, d_state, d_conv, T;
  };
  // T 20: the sequential scan; 300 and 600: the chunked scan over 2 and 3 chunks of 256 steps.
  // d_inner 2·37 = 74 leaves a partial tile of 8 channels; d_state 5 and 24 are not 16; d_conv 1
  // keeps no conv state, 2 one input.
  for (const Case k : {Case{16, 16, 4, 20}, Case{37, 5, 4, 300}, Case{32, 24, 4, 600},
                       Case{64, 16, 4, 1}, Case{24, 16, 1, 50}, Case{24, 8, 2, 70}}) {
    CAPTURE(k.d_model, k.d_state, k.d_conv, k.T);
    MambaConfig c;
    c.d_model = k.d_model;
    c.d_state = k.d_state;
    c.d_conv = k.d_conv;
    Random rng(static_cast<std::uint64_t>(k.T));
    const auto layer = MambaLayer<cuda, W>::random(c, rng);
    const auto x = test::random_activations(k.T, k.d_model, 3);
    const auto whole = run_whole(layer, x, k.d_model);
    CHECK(rel_error(whole, reference::forward(layer, as_matrix(x, k.d_model))) <
          test::tolerance_v<W>);
    // Chunks of 1 (decode), 40 (the chunked scan from a carried state) and 7.
    const auto chunked = run_chunked(layer, x, k.d_model, {1, 40, 7});
    CHECK(rel_error(chunked, whole) < test::tolerance_v<W>);
    if constexpr (std::is_same_v<W, float>) {
      const auto steps = run_chunked(layer, x, k.d_model, {1});
      CHECK(rel_error(steps, whole) < 1e-5);
    }
  }
}

template <class L>
void check_attention(const AttentionConfig& c, index_t T, double tolerance) {
  Random rng(static_cast<std::uint64_t>(T + c.window));
  const auto layer = L::random(c, rng);
  const auto x = test::random_activations(T, c.d_model, 5);
  const auto want = reference::forward(layer, as_matrix(x, c.d_model));
  const auto whole = run_whole(layer, x, c.d_model);
  CHECK(rel_error(whole, want) < tolerance);
  // Token by token (flash-decoding splits once more than 512 keys are visible), and odd chunks
  // that wrap the ring buffer mid-chunk.
  CHECK(rel_error(run_chunked(layer, x, c.d_model, {1}), want) < tolerance);
  CHECK(rel_error(run_chunked(layer, x, c.d_model, {5, 64, 1, 33}), want) < tolerance);
  // Decode-sized chunks of 2–4 tokens (split too, past 512 visible keys).
  CHECK(rel_error(run_chunked(layer, x, c.d_model, {3, 2, 4}), want) < tolerance);
}

TEMPLATE_TEST_CASE("CUDA sliding-window attention matches the reference", "[cuda][attention]",
                   float, bf16) {
  using W = TestType;
  using L = SlidingWindowAttention<cuda, W>;
  // head_dim 16, 80 and 136: the kernel's 64-, 128- and 256-wide instantiations; GQA 4:2 and
  // 3:1; partial RoPE; windows shorter and longer than a 32-key tile and than the sequence.
  CHECK_NOTHROW(check_attention<L>({32, 2, 2, 16, 7}, 50, test::tolerance_v<W>));
  CHECK_NOTHROW(check_attention<L>({24, 4, 2, 80, 40, 10000.0, 32}, 130, test::tolerance_v<W>));
  CHECK_NOTHROW(check_attention<L>({30, 3, 1, 136, 600}, 700, test::tolerance_v<W>));
  CHECK_NOTHROW(check_attention<L>({16, 2, 1, 8, 300}, 90, test::tolerance_v<W>));
}

TEST_CASE("CUDA causal attention matches the reference", "[cuda][attention]") {
  using L = CausalAttention<cuda, float>;
  CHECK_NOTHROW(check_attention<L>({32, 4, 1, 8}, 40, 2e-5));
  CHECK_NOTHROW(check_attention<L>({64, 2, 2, 32, 0, 500000.0}, 600, 2e-5));
}

TEST_CASE("CUDA layers reject host memory with a clear error", "[cuda][errors]") {
  Random rng(1);
  const auto mlp = SwiGLU<cuda>::random({8, 16}, rng);
  HostBuffer<float> x(2 * 8), y(2 * 8);
  CHECK_THROWS_WITH(mlp.forward(x.view<2>({2, 8}), y.view<2>({2, 8})),
                    Catch::Contains("SwiGLU: input is not device memory"));
  MambaConfig c;
  c.d_model = 8;
  c.d_conv = 9;
  const auto bad_conv = [&] {
    const auto m = MambaLayer<cuda>::random(c, rng);
    DeviceBuffer<float> dx(8), dy(8);
    auto s = m.make_state();
    m.forward(s, dx.view<2>({1, 8}), dy.view<2>({1, 8}));
  };
  CHECK_THROWS_WITH(bad_conv(), Catch::Contains("d_conv up to 8"));
}

}  // namespace
}  // namespace samba

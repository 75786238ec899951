// One op-test harness, in the manner of ggml's test-backend-ops: every (layer, shape) row below on
// every backend this machine has, in every weight type the layer takes, against reference::forward
// with one normalised error (the relative L2 error, √NMSE). Each case runs
//
//   whole     the T tokens in one call
//   chunked   odd chunk sizes, empty chunks included, the state carried between calls
//   step      one token per call (decode)
//   batch     a ragged batch of sequences, one of them empty, in one forward_batch call
//
// and every run must match the reference of its own tokens within the backend's tolerance for the
// weight type. A backend declares what it supports (Io::supports); an unsupported case must be
// refused with a samba::error and is reported as skipped, never as passed.
//
// Adding a layer adds one row: a struct with a name, shapes, and make<B, W>(shape, rng).
// Plain C++ over an Io type that moves data to and from the backend (tests/ops/cpu.cpp, and
// tests/cuda/ops.cu with nvcc), so both backends run the same rows.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>
#include <samba/core/random.hpp>
#include <samba/reference/stack.hpp>
#include <samba/stack/presets.hpp>

#include "configs.hpp"
#include "measures.hpp"

namespace samba::ops {

// Attention rows use RoPE base 500, as the random-shape attention test does.
inline AttentionConfig attention(index_t d, index_t heads, index_t kv_heads, index_t head_dim,
                                 index_t window, index_t rotary_dims = -1) {
  return test::attn_config(d, heads, kv_heads, head_dim, window, rotary_dims, 500.0);
}

// --- the rows ------------------------------------------------------------------------------------
// shapes(): how many shapes the row has; make<B, W>(s, rng): the layer of shape s on backend B with
// weight type W (rows whose layer has no weight type take W = float only: weight_types = 1).

struct RMSNormRow {
  static constexpr const char* name = "RMSNorm";
  static constexpr int weight_types = 1;
  static int shapes() { return 3; }
  template <class B, StorageType>
  static auto make(int s, Random& rng) {
    const RMSNormConfig c{std::array<index_t, 3>{1, 5, 130}[s], 1e-5f};
    return RMSNorm<B>(c, RMSNormWeights::random(c, rng));
  }
};

struct LayerNormRow {
  static constexpr const char* name = "LayerNorm";
  static constexpr int weight_types = 1;
  static int shapes() { return 3; }
  template <class B, StorageType>
  static auto make(int s, Random& rng) {
    const LayerNormConfig c{std::array<index_t, 3>{1, 6, 131}[s], 1e-5f};
    return LayerNorm<B>(c, LayerNormWeights::random(c, rng));
  }
};

struct SwiGLURow {
  static constexpr const char* name = "SwiGLU";
  static constexpr int weight_types = 3;
  static int shapes() { return 5; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    // The last two are GeGLU (gelu_tanh gate, Gemma's and Griffin's MLP), the second with
    // RecurrentGemma's biases on all three projections.
    const SwiGLUConfig c[] = {{8, 12},
                              {37, 77},
                              {64, 160},
                              {16, 24, GateActivation::gelu_tanh},
                              {12, 20, GateActivation::gelu_tanh, true}};
    return SwiGLU<B, W>::random(c[s], rng);
  }
};

struct MambaRow {
  static constexpr const char* name = "MambaLayer";
  static constexpr int weight_types = 3;
  // The last shape is past what the CUDA kernels compile in (d_conv ≤ 8, d_state ≤ 64).
  static int shapes() { return 5; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    using test::small_mamba;
    const MambaConfig c[] = {small_mamba(1, 1, 1), small_mamba(13, 7, 3),
                             small_mamba(16, 16, 4, 2, 3), small_mamba(9, 5, 2, 2, 1),
                             small_mamba(6, 70, 9)};
    return MambaLayer<B, W>::random(c[s], rng);
  }
};

struct SlidingWindowRow {
  static constexpr const char* name = "SlidingWindowAttention";
  static constexpr int weight_types = 3;
  static int shapes() { return 5; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    // The last one is RecurrentGemma's local attention: multi-query, RoPE on half of each head,
    // a biased output projection.
    AttentionConfig c[] = {attention(16, 4, 2, 4, 5), attention(12, 3, 1, 8, 1, 4),
                           attention(7, 2, 2, 6, 3, 0), attention(32, 4, 4, 8, 64),
                           attention(16, 2, 1, 8, 6, 4)};
    c[4].output_bias = true;
    return SlidingWindowAttention<B, W>::random(c[s], rng);
  }
};

struct CausalAttentionRow {
  static constexpr const char* name = "CausalAttention";
  static constexpr int weight_types = 3;
  static int shapes() { return 2; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    const AttentionConfig c[] = {attention(16, 4, 2, 4, 0), attention(10, 5, 1, 2, 0)};
    return CausalAttention<B, W>::random(c[s], rng);
  }
};

// A whole Samba stack, in the cyclic order and in an order of its own.
struct SambaStackRow {
  static constexpr const char* name = "Samba stack";
  static constexpr int weight_types = 3;
  static int shapes() { return 2; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    using Stack = presets::Samba<B, W>;
    ModelDims d;
    d.d_model = 16;
    d.n_blocks = 5;
    d.n_heads = 4;
    d.n_kv_heads = 2;
    d.window = 4;
    d.d_ff = 24;
    d.d_state = 4;
    auto config = make_config<Stack>(d);
    if (s == 1) config.order = parse_order("AMFAM", "MFAG");
    return Stack::random(config, rng.next());
  }
};

// Mamba-2: several heads and groups, d_state on both sides of a register, a clamped time step and
// Nemotron-H's grouped norm. T = 29 stays below the recurrence's chunk: the chunked path is
// tested in tests/layers/mamba2.cpp and tests/cpu/linear_recurrence.cpp.
struct Mamba2Row {
  static constexpr const char* name = "Mamba2Layer";
  static constexpr int weight_types = 3;
  static int shapes() { return 3; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    using test::small_mamba2;
    Mamba2Config c[] = {small_mamba2(8, 16, 4, 5, 2, 4), small_mamba2(12, 24, 6, 17, 4, 3, 6),
                        small_mamba2(5, 10, 10, 2, 1, 1)};
    c[1].dt_min = 0.01f;
    c[1].dt_max = 0.05f;
    return Mamba2Layer<B, W>::random(c[s], rng);
  }
};

// GLA: one head and several, shared kv heads, the short conv, no output gate, a clamped decay.
struct GLARow {
  static constexpr const char* name = "GatedLinearAttention";
  static constexpr int weight_types = 3;
  static int shapes() { return 3; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    using test::small_gla;
    GLAConfig c[] = {small_gla(8, 2, 0, 4, 8), small_gla(12, 4, 2, 8, 12, 3, 4),
                     small_gla(6, 1, 0, 6, 5, 2, 2, false)};
    c[1].clamp_min = -0.05f;
    return GatedLinearAttention<B, W>::random(c[s], rng);
  }
};

// Retention: one head and several (each its own decay), shared kv heads, the short conv, no
// output gate.
struct RetentionRow {
  static constexpr const char* name = "MultiScaleRetention";
  static constexpr int weight_types = 3;
  static int shapes() { return 3; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    using test::small_retention;
    const RetentionConfig c[] = {small_retention(8, 2, 0, 8, 16),
                                 small_retention(12, 4, 2, 16, 12, 4),
                                 small_retention(6, 1, 0, 6, 5, 2, false)};
    return MultiScaleRetention<B, W>::random(c[s], rng);
  }
};

struct FeedForwardRow {
  static constexpr const char* name = "FeedForward";
  static constexpr int weight_types = 3;
  static int shapes() { return 2; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    const FeedForwardConfig c[] = {{8, 24}, {13, 7}};
    return FeedForward<B, W>::random(c[s], rng);
  }
};

// RG-LRU: one gate block and several, lru_width other than d_model, conv widths 1 to 4; the last
// shape is past what the CUDA kernels compile in (conv width ≤ 8).
struct RGLRURow {
  static constexpr const char* name = "RGLRULayer";
  static constexpr int weight_types = 3;
  static int shapes() { return 4; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    using test::small_rglru;
    const RGLRUConfig c[] = {small_rglru(8, 8, 2, 4), small_rglru(12, 18, 3, 3),
                             small_rglru(5, 5, 1, 1), small_rglru(6, 8, 2, 9)};
    return RGLRULayer<B, W>::random(c[s], rng);
  }
};

// A Griffin stack as RecurrentGemma configures it (GeGLU MLPs with biases, multi-query local
// attention with half-head RoPE and an output bias), in the cyclic order and in another.
struct GriffinStackRow {
  static constexpr const char* name = "Griffin stack";
  static constexpr int weight_types = 3;
  static int shapes() { return 2; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    using Stack = presets::Griffin<B, W>;
    ModelDims d;
    d.d_model = 16;
    d.n_blocks = 7;
    d.n_heads = 2;
    d.n_kv_heads = 1;
    d.window = 5;
    d.rotary_dims = 4;
    d.attention_output_bias = true;
    d.d_ff = 24;
    d.mlp_activation = GateActivation::gelu_tanh;
    d.mlp_bias = true;
    d.lru_width = 12;
    d.d_conv = 4;
    auto config = make_config<Stack>(d);
    if (s == 1) config.order = {4, 1, 0, 1, 4, 1, 0};
    return Stack::random(config, rng.next());
  }
};

// Differential attention (Phi-4-mini-flash's): GQA ratios 2, 2 and 1 within the head pairs; odd
// head sizes; a window past the sequence (then it is causal attention).
inline DiffAttentionConfig differential(index_t d, index_t heads, index_t kv_heads,
                                        index_t head_dim, index_t window, index_t layer) {
  return test::diff_config(d, heads, kv_heads, head_dim, window, layer);
}

struct DifferentialSWARow {
  static constexpr const char* name = "DifferentialAttention (sliding window)";
  static constexpr int weight_types = 3;
  static int shapes() { return 3; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    const DiffAttentionConfig c[] = {differential(12, 4, 2, 3, 5, 1),
                                     differential(20, 8, 4, 5, 7, 3),
                                     differential(16, 4, 4, 0, 64, 15)};
    return SlidingDifferentialAttention<B, W>::random(c[s], rng);
  }
};

struct DifferentialCausalRow {
  static constexpr const char* name = "DifferentialAttention (causal)";
  static constexpr int weight_types = 3;
  static int shapes() { return 2; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    const DiffAttentionConfig c[] = {differential(12, 4, 2, 3, 0, 17),
                                     differential(16, 8, 2, 2, 0, 5)};
    return CausalDifferentialAttention<B, W>::random(c[s], rng);
  }
};

// SambaY's cross-decoder: the memory Mamba layer, the shared attention layer, and 1 or 2 GMU /
// cross-attention pairs.
struct CrossDecoderRow {
  static constexpr const char* name = "CrossDecoder";
  static constexpr int weight_types = 3;
  static int shapes() { return 2; }
  template <class B, StorageType W>
  static auto make(int s, Random& rng) {
    typename CrossDecoder<B, W>::Config c;
    const index_t d = s == 0 ? 12 : 16;
    c.memory = test::small_mamba(d, 4, 4, 2, 3);
    c.shared = differential(d, 4, 2, d / 4, 0, 5);
    c.n_pairs = s + 1;
    c.mlp = {d, 2 * d + 1};
    return CrossDecoder<B, W>::random(c, rng);
  }
};

using Rows =
    std::tuple<RMSNormRow, LayerNormRow, SwiGLURow, MambaRow, SlidingWindowRow, CausalAttentionRow,
               SambaStackRow, Mamba2Row, GLARow, RetentionRow, FeedForwardRow, RGLRURow,
               GriffinStackRow, DifferentialSWARow, DifferentialCausalRow, CrossDecoderRow>;

// --- the runs ------------------------------------------------------------------------------------

inline std::vector<float> random_rows(index_t rows, index_t cols, std::uint64_t seed) {
  const HostBuffer<float> b = test::random_activations(rows, cols, seed);
  return {b.begin(), b.end()};
}

// The reference output of x [T, d] from a fresh state.
template <class L>
std::vector<float> reference_of(const L& layer, const std::vector<float>& x, index_t d) {
  const auto T = static_cast<index_t>(x.size()) / d;
  reference::Matrix m(T, d);
  std::copy(x.begin(), x.end(), m.data.begin());
  const reference::Matrix y = reference::forward(layer, m);
  return {y.data.begin(), y.data.end()};
}

template <StorageType W>
const char* weight_name() {
  return std::is_same_v<W, float> ? "f32" : std::is_same_v<W, bf16> ? "bf16" : "f16";
}

// Io: the backend's name, tolerance<W>(), supports<L>(layer) (an empty string, or why not), and
// chunked(layer, x, d, chunks) / batch(layer, x, d, lengths), which return y on the host.
template <class Io, class Row, StorageType W>
void run_row() {
  using B = typename Io::backend;
  for (int s = 0; s < Row::shapes(); ++s) {
    Random rng(static_cast<std::uint64_t>(1000 * s + 17));
    const auto layer = Row::template make<B, W>(s, rng);
    const index_t d = layer.d_model();
    const std::string why_not = Io::supports(layer);
    const index_t T = 29;
    const std::vector<float> x = random_rows(T, d, 5 + static_cast<std::uint64_t>(s));
    INFO(Row::name << " on " << Io::name << ", " << weight_name<W>() << " weights, shape " << s
                   << " (d_model " << d << ")");
    if (!why_not.empty()) {
      // Refused with an error, never run and passed.
      CHECK_THROWS_AS(Io::chunked(layer, x, d, {T}), samba::error);
      WARN("skipped: " << Row::name << " shape " << s << " on " << Io::name << ": " << why_not);
      continue;
    }
    const double tol = Io::template tolerance<W>();
    const std::vector<float> want = reference_of(layer, x, d);
    CHECK(test::rel_error_of(Io::chunked(layer, x, d, {T}), want) <= tol);
    CHECK(test::rel_error_of(Io::chunked(layer, x, d, {0, 3, 1, 0, 7, 2}), want) <= tol);
    CHECK(test::rel_error_of(Io::chunked(layer, x, d, {1}), want) <= tol);
    // A ragged batch: four sequences, one of them empty, each with its own reference.
    const std::vector<index_t> lengths = {11, 0, 1, T - 12};
    const std::vector<float> y = Io::batch(layer, x, d, lengths);
    REQUIRE(y.size() == x.size());
    std::size_t r0 = 0;
    for (const index_t len : lengths) {
      const auto n = static_cast<std::size_t>(len * d);
      const std::vector<float> xs(x.begin() + static_cast<std::ptrdiff_t>(r0),
                                  x.begin() + static_cast<std::ptrdiff_t>(r0 + n));
      const std::vector<float> ys(y.begin() + static_cast<std::ptrdiff_t>(r0),
                                  y.begin() + static_cast<std::ptrdiff_t>(r0 + n));
      if (len > 0) CHECK(test::rel_error_of(ys, reference_of(layer, xs, d)) <= tol);
      r0 += n;
    }
  }
}

// Row R in every weight type it takes, on the backend of Io.
template <class Io, class R>
void run_row_all_types() {
  run_row<Io, R, float>();
  if constexpr (R::weight_types > 1) {
    run_row<Io, R, bf16>();
    run_row<Io, R, f16>();
  }
}

}  // namespace samba::ops

// Shared pieces of the CPU benchmark programs (bench/cpu/*.cpp, and the ggml peer
// bench/peers/ggml.cpp): the paper's model dimensions, how work is counted, the layers measured,
// inputs and primed states, the sizes and the two benchmark bodies (prefill, decode), the naming
// scheme and main(). docs/benchmarks.md explains every number; bench/report.py reads the JSON.
//
// Names: <workload>/<dims>/<dtype>/<mode>/T:<n>/ctx:<n>/batch:<n>, e.g.
// "mamba/421M/bf16/decode/T:1/ctx:4096/batch:8" (T: tokens per sequence, ctx: tokens seen before);
// filter with --benchmark_filter=<regex>.
//
// Counters, per second of wall time: tok/s; GFLOP/s of useful work (the multiply-adds of the
// projections × 2; for attention each query × the keys it may see; see flops() below); GB/s of the
// bytes a call must read or write at least once: weights as stored, the state it reads (Mamba's
// conv and SSM state, the visible part of a KV cache, f32) and the activations in and out.
//
// Program flags (before Google Benchmark's own): --full (env SAMBA_BENCH_FULL=1) runs every size,
// otherwise a short default set; --threads=N (env SAMBA_BENCH_THREADS, default 1) sets Eigen's and
// OpenMP's thread count. Both are recorded in the JSON context.
//
// glibc's malloc is pinned to the thresholds it converges to in a long-running process (see
// pin_malloc); SAMBA_BENCH_MALLOC=default leaves it alone.
#pragma once

#include <benchmark/benchmark.h>
#include <omp.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <samba/samba.hpp>

#include "../dims.hpp"

namespace samba_bench {

using namespace samba;

// --- options ---------------------------------------------------------------------------------

struct Options {
  bool full = false;  // every size, both model dims
  int threads = 1;    // Eigen / OpenMP threads
};

inline Options& options() {
  static Options o;
  return o;
}

// --- sizes (the model dims themselves: ../dims.hpp) ------------------------------------------

inline std::vector<Dims> dims_set() {
  if (options().full) return {samba_421m(), samba_1_3b()};
  return {samba_421m()};
}
// Prompt lengths of the prefill benchmarks (T = 1 is the decode benchmarks).
inline std::vector<index_t> prefill_lengths() {
  if (options().full) return {512, 2048, 4096, 8192};
  return {512, 2048};
}
// Cache lengths of the attention decode benchmarks.
inline std::vector<index_t> decode_contexts() {
  return {4096, 16384, 65536};
}
// Decode at batch 8 everywhere with --full; by default only at a layer's first context.
inline std::vector<index_t> decode_batches(bool first_context) {
  if (options().full || first_context) return {1, 8};
  return {1};
}
// The nominal context of decode benchmarks whose cost does not depend on it (Mamba, SWA past W).
inline constexpr index_t default_context = 4096;

template <StorageType W>
constexpr std::string_view dtype_name() {
  if constexpr (std::is_same_v<W, float>) return "f32";
  if constexpr (std::is_same_v<W, bf16>) return "bf16";
  if constexpr (std::is_same_v<W, f16>) return "f16";
}

inline std::string bench_name(std::string_view workload, const Dims& dims, std::string_view dtype,
                              std::string_view mode, index_t T, index_t context, index_t batch) {
  std::ostringstream s;
  s << workload << '/' << dims.name << '/' << dtype << '/' << mode << "/T:" << T
    << "/ctx:" << context << "/batch:" << batch;
  return s.str();
}

// --- work counted per call -------------------------------------------------------------------

struct Work {
  double tokens = 0, flops = 0, bytes = 0;
};

// Rates over wall time (the benchmarks UseRealTime); a count of zero is left out.
inline void set_counters(benchmark::State& st, const Work& w) {
  using C = benchmark::Counter;
  if (w.tokens > 0) st.counters["tok/s"] = C(w.tokens, C::kIsIterationInvariantRate);
  if (w.flops > 0) st.counters["GFLOP/s"] = C(w.flops * 1e-9, C::kIsIterationInvariantRate);
  if (w.bytes > 0) st.counters["GB/s"] = C(w.bytes * 1e-9, C::kIsIterationInvariantRate);
}

// Σ over the queries at absolute positions context … context + T − 1 of the keys each may see,
// min(p + 1, window): the useful attention work of a chunk.
inline double visible_keys(index_t context, index_t T, index_t window) {
  const double lo = static_cast<double>(context) + 1, hi = static_cast<double>(context + T);
  const double w = static_cast<double>(window);
  auto sum = [](double a, double b) { return b < a ? 0.0 : (a + b) * (b - a + 1) / 2; };
  if (hi <= w) return sum(lo, hi);
  if (lo > w) return (hi - lo + 1) * w;
  return sum(lo, w) + (hi - w) * w;
}

constexpr double f32_bytes = 4.0;

// Useful FLOPs of a chunk of T tokens of one sequence that has seen `context` tokens.
inline double flops(const RMSNorm<cpu>& l, index_t, index_t T) {
  return 4.0 * static_cast<double>(T * l.d_model());  // x², sum, × scale, × weight
}
template <StorageType W>
double flops(const SwiGLU<cpu, W>& l, index_t, index_t T) {
  return 6.0 * static_cast<double>(T) * static_cast<double>(l.d_model() * l.config().d_ff);
}
// Per token and channel, the conv is d_conv multiply-adds; the scan per state element 6 FLOPs (the
// count implied by the ggml figures of PEERS.md: exp(Δ·A) and the h update, C·h).
inline double conv_flops(const MambaConfig& c, index_t T) {
  return 2.0 * static_cast<double>(T * c.d_conv * c.d_inner());
}
inline double scan_flops(const MambaConfig& c, index_t T) {
  return 6.0 * static_cast<double>(T * c.d_inner() * c.d_state);
}
template <StorageType W>
double flops(const MambaLayer<cpu, W>& l, index_t, index_t T) {
  const auto& c = l.config();
  const double d = static_cast<double>(c.d_model), di = static_cast<double>(c.d_inner());
  const double r = static_cast<double>(c.resolved_dt_rank()), n = static_cast<double>(c.d_state);
  const double proj = 2.0 * (d * 2 * di + di * (r + 2 * n) + r * di + di * d);  // in, x, dt, out
  return static_cast<double>(T) * proj + conv_flops(c, T) + scan_flops(c, T);
}
// Mamba-2: the projections, the conv, and the recurrence counted as Mamba-1's scan is, 6 FLOPs per
// state element and step (the decay, the update, the read-out; H·N·P = d_inner·N elements), which
// is what the stepped form does (the chunked form does more, as GEMMs).
template <StorageType W>
double flops(const Mamba2Layer<cpu, W>& l, index_t, index_t T) {
  const auto& c = l.config();
  const double d = static_cast<double>(c.d_model), di = static_cast<double>(c.resolved_d_inner());
  const double proj = 2.0 * d * static_cast<double>(c.proj_dim()) + 2.0 * di * d;
  return static_cast<double>(T) * (proj + 2.0 * static_cast<double>(c.conv_dim() * c.d_conv) +
                                   6.0 * di * static_cast<double>(c.d_state));
}
// GLA and retention: the projections and, as for Mamba-2, 6 FLOPs per state element (H·K·V) and
// step; GLA's gate adds its low-rank product.
template <StorageType W>
double flops(const GatedLinearAttention<cpu, W>& l, index_t, index_t T) {
  const auto& c = l.config();
  const double d = static_cast<double>(c.d_model);
  const double proj = 2.0 * d * static_cast<double>(c.proj_dim()) +
                      2.0 * static_cast<double>(c.gate_rank * c.kv_key_dim()) +
                      2.0 * static_cast<double>(c.resolved_value_dim()) * d;
  return static_cast<double>(T) * (proj + 6.0 * static_cast<double>(l.ssm_size()));
}
template <StorageType W>
double flops(const MultiScaleRetention<cpu, W>& l, index_t, index_t T) {
  const auto& c = l.config();
  const double d = static_cast<double>(c.d_model);
  const double proj = 2.0 * d * static_cast<double>(c.proj_dim()) +
                      2.0 * static_cast<double>(c.resolved_value_dim()) * d;
  return static_cast<double>(T) * (proj + 6.0 * static_cast<double>(l.ssm_size()));
}
// RG-LRU: in_proj, the two block-diagonal gates, out_proj; the conv, the recurrence and the gate
// elementwise (about 12 operations per channel and token, gelu_tanh's included).
template <StorageType W>
double flops(const RGLRULayer<cpu, W>& l, index_t, index_t T) {
  const auto& c = l.config();
  const double d = static_cast<double>(c.d_model), w = static_cast<double>(c.width()),
               bw = static_cast<double>(c.block_width()), K = static_cast<double>(c.conv_width);
  return static_cast<double>(T) *
         (2 * (2 * w * d) + 2 * (2 * w * bw) + 2 * d * w + 2 * K * w + 12 * w);
}
template <StorageType W, AttentionKind K>
double flops(const Attention<cpu, W, K>& l, index_t context, index_t T) {
  const auto& c = l.config();
  const double proj = 2.0 * static_cast<double>(c.d_model * (2 * c.q_dim() + 2 * c.kv_dim()));
  // Q·Kᵀ and P·V: 2 × head_dim multiply-adds per (query head, visible key).
  return static_cast<double>(T) * proj +
         4.0 * static_cast<double>(c.q_dim()) * visible_keys(context, T, l.window());
}
inline double flops(const LayerNorm<cpu>& l, index_t, index_t T) {
  return 7.0 * static_cast<double>(T * l.d_model());  // sum, x − mean, ², sum, × scale, w, + b
}
// Differential attention: the projections, and per head (each of the pair's two maps) and visible
// key q·k (head_dim multiply-adds) and A·V (2·head_dim: the pair's values are twice as wide), the
// useful work; the CPU kernel also multiplies the zero halves of its paired queries.
template <StorageType W, AttentionKind K>
double flops(const DifferentialAttention<cpu, W, K>& l, index_t context, index_t T) {
  const auto& c = l.config();
  const double proj = 2.0 * static_cast<double>(c.d_model * (2 * c.q_dim() + 2 * c.kv_dim()));
  return static_cast<double>(T) * proj +
         6.0 * static_cast<double>(c.q_dim()) * visible_keys(context, T, l.window());
}
template <StorageType W>
double flops(const DifferentialCrossAttention<cpu, W>& l, index_t context, index_t T) {
  const auto& c = l.config();
  return static_cast<double>(T) * 4.0 * static_cast<double>(c.d_model * c.q_dim()) +
         6.0 * static_cast<double>(c.q_dim()) *
             visible_keys(context, T, std::numeric_limits<index_t>::max());
}
template <StorageType W>
double flops(const GatedMemoryUnit<cpu, W>& l, index_t, index_t T) {
  const auto& c = l.config();
  return static_cast<double>(T) *
         (4.0 * static_cast<double>(c.d_model * c.d_inner) + 5.0 * static_cast<double>(c.d_inner));
}
template <class L, class N>
double flops(const PreNorm<L, N>& b, index_t context, index_t T) {
  return flops(b.norm(), context, T) + flops(b.layer(), context, T) +
         static_cast<double>(T * b.d_model());  // the residual
}
template <StorageType W>
double flops(const CrossDecoder<cpu, W>& c, index_t context, index_t T) {
  double f = 0;
  auto add = [&](const auto& sub) {
    f += flops(sub.norm, context, T) + flops(sub.mixer, context, T) + flops(sub.mlp, context, T) +
         static_cast<double>(T * c.d_model());
  };
  add(c.memory());
  add(c.shared());
  for (const auto& g : c.gmus()) add(g);
  for (const auto& x : c.cross()) add(x);
  return f;
}
template <class... Blocks>
double flops(const HybridStack<Blocks...>& s, index_t context, index_t T) {
  double f = 0;
  s.for_each_block([&](const auto& block, index_t) { f += flops(block, context, T); });
  return f;
}

// Bytes of weights as stored (each read once per call).
inline double weight_bytes(const RMSNorm<cpu>& l) {
  return static_cast<double>(l.weights().weight.bytes());
}
template <StorageType W>
double weight_bytes(const SwiGLU<cpu, W>& l) {
  const auto& w = l.weights();
  return static_cast<double>(w.gate.bytes() + w.up.bytes() + w.down.bytes());
}
template <StorageType W>
double weight_bytes(const MambaLayer<cpu, W>& l) {
  const auto& w = l.weights();  // A = −exp(A_log) is what the scan reads
  return static_cast<double>(w.in_proj.bytes() + w.conv_weight.bytes() + w.conv_bias.bytes() +
                             w.x_proj.bytes() + w.dt_proj.bytes() + w.dt_bias.bytes() +
                             l.A().bytes() + w.D.bytes() + w.out_proj.bytes());
}
template <StorageType W>
double weight_bytes(const Mamba2Layer<cpu, W>& l) {
  const auto& w = l.weights();
  return static_cast<double>(w.in_proj.bytes() + w.conv_weight.bytes() + w.conv_bias.bytes() +
                             w.dt_bias.bytes() + l.A().bytes() + w.D.bytes() +
                             w.norm_weight.bytes() + w.out_proj.bytes());
}
template <StorageType W>
double weight_bytes(const GatedLinearAttention<cpu, W>& l) {
  const auto& w = l.weights();
  return static_cast<double>(w.in_proj.bytes() + w.gk_up.bytes() + w.gk_bias.bytes() +
                             w.conv_weight.bytes() + w.conv_bias.bytes() + w.norm_weight.bytes() +
                             w.o_proj.bytes());
}
template <StorageType W>
double weight_bytes(const MultiScaleRetention<cpu, W>& l) {
  const auto& w = l.weights();
  return static_cast<double>(w.in_proj.bytes() + w.conv_weight.bytes() + w.conv_bias.bytes() +
                             w.norm_weight.bytes() + w.o_proj.bytes());
}
template <StorageType W>
double weight_bytes(const RGLRULayer<cpu, W>& l) {
  const auto& w = l.weights();
  return static_cast<double>(w.in_proj.bytes() + w.out_proj.bytes()) +
         f32_bytes * static_cast<double>(w.input_gate.numel() + w.recurrent_gate.numel() +
                                         w.conv_weight.numel());
}
template <StorageType W, AttentionKind K>
double weight_bytes(const Attention<cpu, W, K>& l) {
  const auto& w = l.weights();
  return static_cast<double>(w.wq.bytes() + w.wk.bytes() + w.wv.bytes() + w.wo.bytes());
}
inline double weight_bytes(const LayerNorm<cpu>& l) {
  return static_cast<double>(l.weights().weight.bytes() + l.weights().bias.bytes());
}
template <class L>
double diff_attention_weight_bytes(const L& l) {
  const auto& w = l.weights();
  return static_cast<double>(w.wqkv.bytes() + w.bqkv.bytes() + w.wo.bytes() + w.bo.bytes() +
                             w.subln.bytes());
}
template <StorageType W, AttentionKind K>
double weight_bytes(const DifferentialAttention<cpu, W, K>& l) {
  return diff_attention_weight_bytes(l);
}
template <StorageType W>
double weight_bytes(const DifferentialCrossAttention<cpu, W>& l) {
  return diff_attention_weight_bytes(l);
}
template <StorageType W>
double weight_bytes(const GatedMemoryUnit<cpu, W>& l) {
  return static_cast<double>(l.weights().in_proj.bytes() + l.weights().out_proj.bytes());
}
template <class L, class N>
double weight_bytes(const PreNorm<L, N>& b) {
  return weight_bytes(b.norm()) + weight_bytes(b.layer());
}
template <StorageType W>
double weight_bytes(const CrossDecoder<cpu, W>& c) {
  double n = 0;
  auto add = [&](const auto& sub) {
    n += weight_bytes(sub.norm) + weight_bytes(sub.mixer) + weight_bytes(sub.mlp);
  };
  add(c.memory());
  add(c.shared());
  for (const auto& g : c.gmus()) add(g);
  for (const auto& x : c.cross()) add(x);
  return n;
}
template <class... Blocks>
double weight_bytes(const HybridStack<Blocks...>& s) {
  double n = 0;
  s.for_each_block([&](const auto& block, index_t) { n += weight_bytes(block); });
  return n;
}

// Bytes of state one sequence's call reads at position `context`.
inline double state_bytes(const RMSNorm<cpu>&, index_t) {
  return 0;
}
template <StorageType W>
double state_bytes(const SwiGLU<cpu, W>&, index_t) {
  return 0;
}
template <StorageType W>
double state_bytes(const MambaLayer<cpu, W>& l, index_t) {
  const auto& c = l.config();
  return f32_bytes * static_cast<double>((c.d_conv - 1) * c.d_inner() + c.d_inner() * c.d_state);
}
template <StorageType W>
double state_bytes(const Mamba2Layer<cpu, W>& l, index_t) {
  const auto& c = l.config();
  return f32_bytes *
         static_cast<double>((c.d_conv - 1) * c.conv_dim() + c.resolved_d_inner() * c.d_state);
}
template <StorageType W>
double state_bytes(const GatedLinearAttention<cpu, W>& l, index_t) {
  const auto& c = l.config();
  return f32_bytes *
         static_cast<double>(std::max<index_t>(c.conv_size - 1, 0) * c.qkv_dim() + l.ssm_size());
}
template <StorageType W>
double state_bytes(const MultiScaleRetention<cpu, W>& l, index_t) {
  const auto& c = l.config();
  return f32_bytes *
         static_cast<double>(std::max<index_t>(c.conv_size - 1, 0) * c.qkv_dim() + l.ssm_size());
}
template <StorageType W>
double state_bytes(const RGLRULayer<cpu, W>& l, index_t) {
  const auto& c = l.config();
  return f32_bytes * static_cast<double>(c.conv_width * c.width());  // conv tail and h
}
template <StorageType W, AttentionKind K>
double state_bytes(const Attention<cpu, W, K>& l, index_t context) {
  const index_t past = std::min(context, l.window() - 1);  // cached keys the next query sees
  return 2 * f32_bytes * static_cast<double>(past * l.config().kv_dim());  // keys and values
}
template <StorageType W, AttentionKind K>
double state_bytes(const DifferentialAttention<cpu, W, K>& l, index_t context) {
  const index_t past = std::min(context, l.window() - 1);
  return 2 * f32_bytes * static_cast<double>(past * l.config().kv_dim());
}
template <class L, class N>
double state_bytes(const PreNorm<L, N>& b, index_t context) {
  return state_bytes(b.layer(), context);
}
// The memory layer's state and the shared cache (the cross layers read the same cache again).
template <StorageType W>
double state_bytes(const CrossDecoder<cpu, W>& c, index_t context) {
  return state_bytes(c.memory().mixer, context) + state_bytes(c.shared().mixer, context);
}
template <class... Blocks>
double state_bytes(const HybridStack<Blocks...>& s, index_t context) {
  double n = 0;
  s.for_each_block([&](const auto& block, index_t) { n += state_bytes(block, context); });
  return n;
}

// A call of `batch` sequences of T tokens each, every one at position `context`.
template <class L>
Work layer_work(const L& layer, index_t context, index_t T, index_t batch) {
  const double b = static_cast<double>(batch);
  return {b * static_cast<double>(T), b * flops(layer, context, T),
          weight_bytes(layer) + b * state_bytes(layer, context) +
              2 * f32_bytes * b * static_cast<double>(T * layer.d_model())};
}

// The Mamba layer's two scalar kernels alone (bench/cpu/layers.cpp; bench/peers/ggml.cpp runs the
// same jobs on ggml), `batch` sequences of T tokens each.
// The scan reads u', Δ, z, B, C, A, D and h; writes the output (and h).
inline Work scan_work(const MambaConfig& c, index_t T, index_t batch) {
  const double t = static_cast<double>(T), b = static_cast<double>(batch);
  const double di = static_cast<double>(c.d_inner()), n = static_cast<double>(c.d_state);
  return {b * t, b * scan_flops(c, T),
          f32_bytes * (di * n + di + b * (di * n + t * (4 * di + 2 * n)))};
}
// The conv reads the conv weights, bias, history and u; writes the output.
inline Work conv_work(const MambaConfig& c, index_t T, index_t batch) {
  const double t = static_cast<double>(T), b = static_cast<double>(batch);
  const double di = static_cast<double>(c.d_inner()), K = static_cast<double>(c.d_conv);
  return {b * t, b * conv_flops(c, T),
          f32_bytes * (di * (K + 1) + b * (di * (K - 1) + 2 * t * di))};
}

// --- the layers and stacks measured ----------------------------------------------------------

// Random weights of fixed seeds: bench/cpu/layers.cpp and blocks.cpp run these, and
// bench/peers/ggml.cpp copies the same weights into ggml.
inline RMSNorm<cpu> make_rmsnorm(const ModelDims& m) {
  Random rng(10);
  const RMSNormConfig c{m.d_model};
  return RMSNorm<cpu>(c, RMSNormWeights::random(c, rng));
}
template <StorageType W>
SwiGLU<cpu, W> make_swiglu(const ModelDims& m) {
  Random rng(11);
  return SwiGLU<cpu, W>::random(layer_config(m, std::type_identity<SwiGLUConfig>{}), rng);
}
template <StorageType W>
MambaLayer<cpu, W> make_mamba(const ModelDims& m) {
  Random rng(12);
  return MambaLayer<cpu, W>::random(layer_config(m, std::type_identity<MambaConfig>{}), rng);
}
// Mamba-2 at the model's width: d_inner 2·d_model, heads of 64, d_state 128, one group (the
// published Mamba-2 models' shape).
template <StorageType W>
Mamba2Layer<cpu, W> make_mamba2(const ModelDims& m) {
  Random rng(15);
  Mamba2Config c;
  c.d_model = m.d_model;
  c.expand = 2;
  c.head_dim = 64;
  c.d_state = 128;
  c.n_groups = 1;
  return Mamba2Layer<cpu, W>::random(c, rng);
}
// GLA and retention at the model's width with fla's defaults (GLA: 4 heads, key_dim d/2, value_dim
// d; RetNet: 8 heads, key_dim d, value_dim 2d), as the paper's Sliding GLA / RetNet use them.
template <StorageType W>
GatedLinearAttention<cpu, W> make_gla(const ModelDims& m) {
  Random rng(16);
  GLAConfig c;
  c.d_model = m.d_model;
  c.n_heads = 4;
  return GatedLinearAttention<cpu, W>::random(c, rng);
}
template <StorageType W>
MultiScaleRetention<cpu, W> make_retention(const ModelDims& m) {
  Random rng(17);
  RetentionConfig c;
  c.d_model = m.d_model;
  c.n_heads = 8;
  return MultiScaleRetention<cpu, W>::random(c, rng);
}
template <StorageType W>
RGLRULayer<cpu, W> make_rglru(const ModelDims& m) {
  Random rng(18);
  return RGLRULayer<cpu, W>::random(layer_config(m, std::type_identity<RGLRUConfig>{}), rng);
}
template <StorageType W, AttentionKind K>
Attention<cpu, W, K> make_attention(const ModelDims& m) {
  Random rng(K == AttentionKind::sliding_window ? 13 : 14);
  return Attention<cpu, W, K>::random(layer_config(m, std::type_identity<AttentionConfig>{}), rng);
}
// One block pair of each preset (m.n_blocks = 4).
template <StorageType W>
presets::Samba<cpu, W> make_samba_pair(const ModelDims& m) {
  using Samba = presets::Samba<cpu, W>;
  return Samba::random(make_config<Samba>(m), 21);
}
// One Griffin triple (m.n_blocks = 6): [RG-LRU, MLP, RG-LRU, MLP, local attention, MLP].
template <StorageType W>
presets::Griffin<cpu, W> make_griffin_triple(const ModelDims& m) {
  using Griffin = presets::Griffin<cpu, W>;
  return Griffin::random(make_config<Griffin>(m), 23);
}
template <StorageType W>
presets::Llama<cpu, W> make_llama_pair(const ModelDims& m) {
  using Llama = presets::Llama<cpu, W>;
  return Llama::random(make_config<Llama>(m), 22);
}

// --- inputs and states -------------------------------------------------------------------------

inline HostBuffer<float> random_buffer(index_t n, float lo, float hi, std::uint64_t seed) {
  HostBuffer<float> b(n);
  Random rng(seed);
  for (auto& v : b) v = rng.uniform(lo, hi);
  return b;
}

// Activations of the scale a pre-norm layer sees.
inline HostBuffer<float> random_rows(index_t rows, index_t d) {
  return random_buffer(rows * d, -1.7f, 1.7f, 1);
}

template <class S>
concept KvCacheState = requires(S& s) {
  s.kv_dim;
  s.max_rows;
  s.capacity;
  s.position;
  s.k;
  s.v;
};
template <class S>
concept MambaState = requires(S& s) {
  s.conv;
  s.ssm;
};
template <class S>
concept CrossDecoderState = requires(S& s) {
  s.memory;
  s.kv;
};
template <class S>
concept StackState = requires(S& s) {
  s.blocks;
  s.position;
};

// Makes a fresh state look like one that has seen `context` tokens (random contents: the cost of a
// step does not depend on them). KV caches are written directly, laid out as the attention kernel
// keeps them (position p in row p % capacity); a causal cache gets one spare row, so that a step
// never regrows it, and a sliding-window ring is full at W.
template <class S>
void prime(S& s, index_t context, Random& rng) {
  if constexpr (KvCacheState<S>) {
    s.capacity = std::min(s.max_rows, context + 1);
    s.k = HostBuffer<float>(s.capacity * s.kv_dim);
    s.v = HostBuffer<float>(s.capacity * s.kv_dim);
    for (auto& x : s.k) x = rng.uniform(-2.0f, 2.0f);
    for (auto& x : s.v) x = rng.uniform(-1.0f, 1.0f);
    s.position = context;
  } else if constexpr (MambaState<S>) {
    for (auto& x : s.conv) x = rng.uniform(-1.0f, 1.0f);
    for (auto& x : s.ssm) x = rng.uniform(-0.5f, 0.5f);
  } else if constexpr (CrossDecoderState<S>) {
    prime(s.memory, context, rng);
    prime(s.kv, context, rng);
  } else if constexpr (StackState<S>) {
    std::apply(
        [&](auto&... slot) {
          ((std::ranges::for_each(slot, [&](auto& b) { prime(b, context, rng); })), ...);
        },
        s.blocks);
    s.position = context;
  }
}

// Back to position `context`, so every step of a decode benchmark sees the same cache length (the
// row it wrote is overwritten by the next step).
template <class S>
void rewind(S& s, index_t context) {
  if constexpr (KvCacheState<S>) {
    s.position = context;
  } else if constexpr (CrossDecoderState<S>) {
    rewind(s.kv, context);
  } else if constexpr (StackState<S>) {
    std::apply(
        [&](auto&... slot) {
          ((std::ranges::for_each(slot, [&](auto& b) { rewind(b, context); })), ...);
        },
        s.blocks);
    s.position = context;
  }
}

// --- the two benchmark bodies ------------------------------------------------------------------

// A prompt of T tokens in one call, from a fresh state.
template <class L>
void run_prefill(benchmark::State& st, const L& layer, index_t T) {
  const index_t d = layer.d_model();
  const auto x = random_rows(T, d);
  HostBuffer<float> y(T * d);
  for (auto _ : st) {
    auto s = layer.make_state();
    layer.forward(s, x.view<2>({T, d}), y.view<2>({T, d}));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, layer_work(layer, 0, T, 1));
}

// One token for each of `batch` sequences in one forward_batch call, every sequence with its state
// filled to `context` tokens. Returns the bytes of one sequence's state after the steps.
template <class L>
std::size_t run_decode(benchmark::State& st, const L& layer, index_t context, index_t batch) {
  using S = typename L::State;
  const index_t d = layer.d_model();
  Random rng(2);
  std::vector<S> states;
  states.reserve(static_cast<std::size_t>(batch));
  states.push_back(layer.make_state());
  prime(states.front(), context, rng);
  for (index_t b = 1; b < batch; ++b) states.push_back(states.front());
  std::vector<S*> ptrs;
  for (auto& s : states) ptrs.push_back(&s);
  const std::vector<index_t> lengths(static_cast<std::size_t>(batch), 1);
  const auto x = random_rows(batch, d);
  HostBuffer<float> y(batch * d);
  for (auto _ : st) {
    for (auto& s : states) rewind(s, context);
    samba::forward_batch(layer, std::span<S* const>(ptrs), std::span<const index_t>(lengths),
                         x.view<2>({batch, d}), y.view<2>({batch, d}));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, layer_work(layer, context, 1, batch));
  return states.front().bytes();
}

// --- registration ------------------------------------------------------------------------------

// A layer (or stack) built on first use and shared by every benchmark of it: random weights of
// these sizes take seconds, which would otherwise be paid on each of Google Benchmark's runs.
template <class T>
class Lazy {
 public:
  explicit Lazy(std::function<T()> make) : cell_(std::make_shared<Cell>(std::move(make))) {}
  const T& operator*() const {
    if (!cell_->value) cell_->value = std::make_unique<T>(cell_->make());
    return *cell_->value;
  }

 private:
  struct Cell {
    explicit Cell(std::function<T()> m) : make(std::move(m)) {}
    std::function<T()> make;
    std::unique_ptr<T> value;
  };
  std::shared_ptr<Cell> cell_;
};

template <class F>
benchmark::internal::Benchmark* add(const std::string& name, F&& body) {
  return benchmark::RegisterBenchmark(name.c_str(), std::forward<F>(body))
      ->UseRealTime()  // Eigen's threads work outside the main thread's CPU time
      ->Unit(benchmark::kMillisecond);
}

// The sizes a layer is measured at: prefill at every prompt length, then decode at each of
// `contexts` (batch 1 and 8 at the first; see decode_batches).
struct Size {
  bool decode = false;
  index_t T = 0, context = 0, batch = 1;
};
inline std::vector<Size> layer_sizes(const std::vector<index_t>& contexts) {
  std::vector<Size> sizes;
  for (index_t T : prefill_lengths()) sizes.push_back({false, T, 0, 1});
  for (index_t ctx : contexts)
    for (index_t batch : decode_batches(ctx == contexts.front()))
      sizes.push_back({true, 1, ctx, batch});
  return sizes;
}
inline std::string bench_name(std::string_view workload, const Dims& dims, std::string_view dtype,
                              const Size& s) {
  return bench_name(workload, dims, dtype, s.decode ? "decode" : "prefill", s.T, s.context,
                    s.batch);
}

template <class L>
void add_layer(std::string_view workload, const Dims& dims, std::string_view dtype, Lazy<L> layer,
               std::vector<index_t> contexts) {
  for (const Size& s : layer_sizes(contexts))
    add(bench_name(workload, dims, dtype, s), [=](benchmark::State& st) {
      if (s.decode)
        run_decode(st, *layer, s.context, s.batch);
      else
        run_prefill(st, *layer, s.T);
    });
}

// --- main --------------------------------------------------------------------------------------

inline std::string cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model, family, number;
  std::set<std::string> flags;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && model.empty()) model = value;
    if (key == "cpu family" && family.empty()) family = value;
    if (key == "model" && number.empty()) number = value;
    if (key == "flags" && flags.empty()) {
      std::istringstream f(value);
      for (std::string w; f >> w;) flags.insert(w);
    }
  }
  std::string isa;
  for (const char* f : {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16"})
    if (flags.count(f)) isa += std::string(isa.empty() ? "" : " ") + f;
  return model + " (family " + family + ", model " + number + "; " +
         (isa.empty() ? "no AVX2" : isa) + ")";
}

// The kernels allocate (and zero) their scratch buffers on every call. With glibc's default,
// adaptive malloc thresholds, whether those megabytes come back from the heap or are handed to the
// kernel and faulted in again on the next call depends on what the process allocated before: the
// same decode step measured 3× slower in a fresh process than after other benchmarks. Pinning the
// thresholds where glibc's adaptation ends (mmap above 32 MiB, its maximum; trim above 64 MiB)
// makes every benchmark see the steady state of a long-running process, whatever ran before it.
inline std::string pin_malloc() {
#if defined(__GLIBC__)
  if (const char* e = std::getenv("SAMBA_BENCH_MALLOC"); e && std::string_view(e) == "default")
    return "glibc defaults (adaptive)";
  const int mmap_threshold = 32 << 20, trim_threshold = 64 << 20;
  if (mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 &&
      mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1)
    return "glibc pinned: mmap threshold 32 MiB, trim threshold 64 MiB";
  return "glibc defaults (mallopt failed)";
#else
  return "not glibc: defaults";
#endif
}

// Our flags out of argv, before Google Benchmark sees it, into options(); sets Eigen's and OpenMP's
// thread count. False (with a message) on a bad value.
inline bool parse_options(int& argc, char** argv) {
  Options& o = options();
  if (const char* e = std::getenv("SAMBA_BENCH_FULL")) o.full = std::string_view(e) == "1";
  if (const char* e = std::getenv("SAMBA_BENCH_THREADS")) o.threads = std::atoi(e);
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--full") {
      o.full = true;
    } else if (a.starts_with("--threads=")) {
      o.threads = std::atoi(argv[i] + 10);
    } else if (a == "--threads" && i + 1 < argc) {
      o.threads = std::atoi(argv[++i]);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (o.threads < 1) {
    std::fprintf(stderr, "samba bench: the thread count must be >= 1\n");
    return false;
  }
  omp_set_num_threads(o.threads);
  Eigen::setNbThreads(o.threads);
  return true;
}

// Records the run's context in the JSON, registers the benchmarks and runs them (after
// parse_options).
inline int run_benchmarks(int argc, char** argv, const std::function<void()>& register_benchmarks) {
  const Options& o = options();
  benchmark::AddCustomContext("samba_bench_set", o.full ? "full" : "default");
  benchmark::AddCustomContext("samba_bench_threads", std::to_string(o.threads));
  benchmark::AddCustomContext("eigen_threads", std::to_string(Eigen::nbThreads()));
  benchmark::AddCustomContext("cpu", cpu_description());
  benchmark::AddCustomContext("malloc", pin_malloc());
  benchmark::AddCustomContext("samba_cpu_isa",
                              std::string(cpu_detail::isa_name(cpu_detail::active_isa())));
  benchmark::AddCustomContext("samba_bf16_products",
                              bf16_products() == Bf16Products::rounded ? "rounded" : "exact");
#ifdef SAMBA_NATIVE_BUILD
  benchmark::AddCustomContext("samba_bench_march_native", SAMBA_NATIVE_BUILD ? "yes" : "no");
#endif
#ifdef NDEBUG
  benchmark::AddCustomContext("samba_bench_ndebug", "yes");
#endif

  register_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

inline int run_main(int argc, char** argv, void (*register_benchmarks)()) {
  if (!parse_options(argc, argv)) return 1;
  return run_benchmarks(argc, argv, register_benchmarks);
}

}  // namespace samba_bench

#define SAMBA_BENCH_MAIN(register_benchmarks)                        \
  int main(int argc, char** argv) {                                  \
    return samba_bench::run_main(argc, argv, (register_benchmarks)); \
  }

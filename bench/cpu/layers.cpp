// Layer micro-benchmarks on the CPU backend at the paper's Samba-421M dimensions (d_model 1536,
// 12 query heads × 128 with 4 KV heads, window 2048, MLP 4096, Mamba d_inner 3072 / d_state 16 /
// dt_rank 96). Prefill benchmarks take T tokens in one call from a fresh state; step benchmarks run
// one token with the state (or KV cache) already filled. Counters: tokens/s and GFLOP/s of useful
// work (multiply-adds × 2 of the projections and, for attention, of the scores each query may see).
//
// This is the seed of the benchmark suite; the full suite with ceilings and peers comes with the
// CPU-speed work.
#include <benchmark/benchmark.h>

#include <samba/samba.hpp>

namespace {

using namespace samba;

ModelDims samba_421m() {
  ModelDims d;
  d.d_model = 1536;
  d.n_blocks = 4;
  d.n_heads = 12;
  d.n_kv_heads = 4;
  d.head_dim = 128;
  d.window = 2048;
  d.d_ff = 4096;
  return d;
}

HostBuffer<float> random_input(index_t T, index_t d) {
  HostBuffer<float> x(T * d);
  Random rng(1);
  for (auto& v : x) v = rng.normal();
  return x;
}

template <class L>
void run_prefill(benchmark::State& st, const L& layer, double flops_per_token) {
  const index_t T = st.range(0), d = layer.d_model();
  auto x = random_input(T, d);
  HostBuffer<float> y(T * d);
  for (auto _ : st) {
    auto s = layer.make_state();
    layer.forward(s, x.template view<2>({T, d}), y.template view<2>({T, d}));
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["tok/s"] = benchmark::Counter(static_cast<double>(T), benchmark::Counter::kIsIterationInvariantRate);
  st.counters["GFLOP/s"] = benchmark::Counter(flops_per_token * static_cast<double>(T) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

template <class L>
void run_step(benchmark::State& st, const L& layer, index_t context, double flops) {
  const index_t d = layer.d_model();
  auto s = layer.make_state();
  {
    auto x = random_input(context, d);
    HostBuffer<float> y(context * d);
    for (index_t t = 0; t < context; t += 512) {
      const index_t n = std::min<index_t>(512, context - t);
      layer.forward(s, x.template view<2>({context, d}).slice(t, n), y.template view<2>({context, d}).slice(t, n));
    }
  }
  auto x = random_input(1, d);
  HostBuffer<float> y(d);
  // The state advances one token per iteration: a full SWA ring or Mamba state costs the same at
  // every step; a causal cache grows by the (small) number of iterations.
  for (auto _ : st) {
    layer.forward(s, x.template view<2>({1, d}), y.template view<2>({1, d}));
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["tok/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

double mamba_flops(const MambaConfig& c) {
  const double d = static_cast<double>(c.d_model), di = static_cast<double>(c.d_inner());
  const double r = static_cast<double>(c.resolved_dt_rank()), n = static_cast<double>(c.d_state);
  return 2.0 * (2 * di * d + (r + 2 * n) * di + di * r + d * di) + 7.0 * di * n;
}
double attention_proj_flops(const AttentionConfig& c) {
  return 2.0 * static_cast<double>(c.d_model) * static_cast<double>(2 * c.q_dim() + 2 * c.kv_dim());
}

template <StorageType W>
void BM_SwiGLU(benchmark::State& st) {
  Random rng(1);
  const auto dims = samba_421m();
  const auto layer = SwiGLU<cpu, W>::random(layer_config(dims, std::type_identity<SwiGLUConfig>{}), rng);
  run_prefill(st, layer, 6.0 * static_cast<double>(dims.d_model * dims.d_ff));
}

template <StorageType W>
void BM_Mamba(benchmark::State& st) {
  Random rng(1);
  const auto c = layer_config(samba_421m(), std::type_identity<MambaConfig>{});
  run_prefill(st, MambaLayer<cpu, W>::random(c, rng), mamba_flops(c));
}

void BM_SlidingWindowAttention(benchmark::State& st) {
  Random rng(1);
  const auto c = layer_config(samba_421m(), std::type_identity<AttentionConfig>{});
  const double T = static_cast<double>(st.range(0)), W = static_cast<double>(c.window);
  // Keys seen per query, averaged over the prompt: min(i + 1, W).
  const double keys = T <= W ? (T + 1) / 2 : W - (W * W - W) / (2 * T);
  run_prefill(st, SlidingWindowAttention<>::random(c, rng),
              attention_proj_flops(c) + 4.0 * keys * static_cast<double>(c.q_dim()));
}

void BM_RMSNorm(benchmark::State& st) {
  const RMSNormConfig c{1536};
  run_prefill(st, RMSNorm<>(c, RMSNormWeights::ones(c)), 3.0 * 1536);
}

void BM_MambaStep(benchmark::State& st) {
  Random rng(1);
  const auto c = layer_config(samba_421m(), std::type_identity<MambaConfig>{});
  run_step(st, MambaLayer<>::random(c, rng), 64, mamba_flops(c));
}

template <AttentionKind Kind>
void BM_AttentionStep(benchmark::State& st) {
  Random rng(1);
  const auto c = layer_config(samba_421m(), std::type_identity<AttentionConfig>{});
  const index_t context = st.range(0);
  const Attention<cpu, float, Kind> layer = Attention<cpu, float, Kind>::random(c, rng);
  const double keys = static_cast<double>(std::min(context + 1, layer.window()));
  run_step(st, layer, context, attention_proj_flops(c) + 4.0 * keys * static_cast<double>(c.q_dim()));
}

}  // namespace

BENCHMARK(BM_RMSNorm)->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_SwiGLU, float)->Arg(1)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_SwiGLU, bf16)->Arg(1)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Mamba, float)->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Mamba, bf16)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MambaStep)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SlidingWindowAttention)->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_AttentionStep, AttentionKind::sliding_window)->Arg(2048)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_AttentionStep, AttentionKind::causal)->Arg(4096)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();

// Every layer of the CPU backend alone, at the paper's Samba-421M (and, with --full, Samba-1.3B)
// dims, f32 and bf16 weights: RMSNorm, SwiGLU, MambaLayer, its selective scan and causal conv
// alone, Mamba2Layer, GatedLinearAttention, MultiScaleRetention, SlidingWindowAttention and
// CausalAttention. Prefill: T tokens in one call from a fresh state. Decode: one token per
// sequence, batch 1 and 8 (forward_batch), the state filled to `ctx` tokens (for SWA the ring is
// full at W; a causal cache holds ctx entries). See common.hpp for the counts.
#include "common.hpp"

namespace samba_bench {
namespace {

// The selective scan and the causal conv are not public functions of their own: they are static
// members of the CPU kernel, called per sequence by MambaLayer's forward. Benchmarked here on
// inputs laid out as forward lays them out (u and z interleaved in one [T, 2·d_inner] buffer, B and
// C inside the x_proj output).
template <StorageType W>
struct MambaParts {
  using Kernel = MambaKernel<cpu, W>;
  const MambaLayer<cpu, W>& layer;
  index_t T, batch;
  index_t di = layer.config().d_inner(), n = layer.config().d_state;
  index_t r = layer.config().resolved_dt_rank(), xw = r + 2 * n;
  HostBuffer<float> xz = random_buffer(T * 2 * di, -2.0f, 2.0f, 3);  // (u, z) rows
  HostBuffer<float> uc = random_buffer(T * di, -1.0f, 1.0f, 4);      // silu(conv(u))
  HostBuffer<float> delta = random_buffer(T * di, 1e-3f, 0.1f, 5);   // softplus(dt), the init range
  HostBuffer<float> xdbl = random_buffer(T * xw, -1.0f, 1.0f, 6);    // (δ, B, C) rows
  HostBuffer<float> out = HostBuffer<float>(T * di);
  std::vector<typename MambaLayer<cpu, W>::State> states;

  MambaParts(const MambaLayer<cpu, W>& l, index_t tokens, index_t sequences, bool primed)
      : layer(l), T(tokens), batch(sequences) {
    Random rng(7);
    for (index_t b = 0; b < batch; ++b) {
      states.push_back(layer.make_state());
      if (primed) prime(states.back(), default_context, rng);
    }
  }
  ConstMatrixView<float> u() const { return {xz.data(), {T, di}, {2 * di, 1}}; }
  ConstMatrixView<float> z() const { return {xz.data() + di, {T, di}, {2 * di, 1}}; }

  void scan() {
    for (auto& s : states)
      Kernel::scan_sequence(layer, s, uc.data(), delta.data(), xdbl.data() + r, xw, z(),
                            out.data());
  }
  void conv() {
    for (auto& s : states) Kernel::causal_conv_silu(layer, s, u(), out.view<2>({T, di}));
  }

  Work scan_work() const { return samba_bench::scan_work(layer.config(), T, batch); }
  Work conv_work() const { return samba_bench::conv_work(layer.config(), T, batch); }
};

template <StorageType W>
void add_mamba_parts(const Dims& dims, Lazy<MambaLayer<cpu, W>> layer) {
  using Parts = MambaParts<W>;
  // Prefill from a fresh state; decode with every state primed to default_context.
  auto add_part = [&](std::string_view workload, bool is_scan) {
    for (const Size& s : layer_sizes({default_context}))
      add(bench_name(workload, dims, dtype_name<W>(), s), [=](benchmark::State& st) {
        Parts p(*layer, s.T, s.batch, s.decode);
        for (auto _ : st) {
          is_scan ? p.scan() : p.conv();
          benchmark::DoNotOptimize(p.out.data());
          benchmark::ClobberMemory();
        }
        set_counters(st, is_scan ? p.scan_work() : p.conv_work());
      });
  };
  add_part("selective_scan", true);
  add_part("causal_conv", false);
}

template <StorageType W>
void add_layers_of_dtype(const Dims& dims) {
  const ModelDims m = dims.model;
  const auto dtype = dtype_name<W>();
  const Lazy<SwiGLU<cpu, W>> mlp([m] { return make_swiglu<W>(m); });
  const Lazy<MambaLayer<cpu, W>> mamba([m] { return make_mamba<W>(m); });
  const Lazy<Mamba2Layer<cpu, W>> mamba2([m] { return make_mamba2<W>(m); });
  const Lazy<GatedLinearAttention<cpu, W>> gla([m] { return make_gla<W>(m); });
  const Lazy<MultiScaleRetention<cpu, W>> retention([m] { return make_retention<W>(m); });
  const Lazy<SlidingWindowAttention<cpu, W>> swa(
      [m] { return make_attention<W, AttentionKind::sliding_window>(m); });
  const Lazy<CausalAttention<cpu, W>> attention(
      [m] { return make_attention<W, AttentionKind::causal>(m); });

  add_layer("swiglu", dims, dtype, mlp, {0});
  add_layer("mamba", dims, dtype, mamba, {default_context});
  add_layer("mamba2", dims, dtype, mamba2, {default_context});
  add_layer("gla", dims, dtype, gla, {default_context});
  add_layer("retention", dims, dtype, retention, {default_context});
  // The scan and the conv read only f32 tensors: their cost does not depend on W.
  if constexpr (std::is_same_v<W, float>) add_mamba_parts<W>(dims, mamba);
  add_layer("swa", dims, dtype, swa, decode_contexts());
  add_layer("causal_attention", dims, dtype, attention, decode_contexts());
}

// Griffin's recurrent block at RecurrentGemma-2B's width.
template <StorageType W>
void add_rglru(const Dims& dims) {
  const Lazy<RGLRULayer<cpu, W>> rglru([m = dims.model] { return make_rglru<W>(m); });
  add_layer("rglru", dims, dtype_name<W>(), rglru, {default_context});
}

void register_benchmarks() {
  for (const Dims& dims : dims_set()) {
    const Lazy<RMSNorm<cpu>> norm([m = dims.model] { return make_rmsnorm(m); });
    add_layer("rmsnorm", dims, "f32", norm, {0});
    add_layers_of_dtype<float>(dims);
    add_layers_of_dtype<bf16>(dims);
  }
  add_rglru<float>(griffin_2b());
  add_rglru<bf16>(griffin_2b());
}

}  // namespace
}  // namespace samba_bench

SAMBA_BENCH_MAIN(samba_bench::register_benchmarks)

// Phi-4-mini-flash (SambaY) at the released model's dimensions (d_model 2560, 40 heads / 20 KV
// heads of 64, window 512, MLP 10240, Mamba d_inner 5120, d_state 16, dt_rank 160), f32 and bf16
// weights:
//
//   sambay_self_pair   one self-decoder layer pair: [Mamba, MLP, sliding-window differential
//                      attention, MLP], LayerNorm pre-norms (presets::SambaY's first slots)
//   sambay_cross       the cross-decoder with one GMU / cross-attention pair: the memory Mamba
//   layer,
//                      the shared full-attention layer, the GMU and the cross-attention layer, each
//                      with its MLP (8 blocks' worth; the released model has 7 pairs)
//
// Prefill T 512 and 2048 from a fresh state; decode at batch 1 at ctx 4096 and 32768 (states primed
// as in the other programs; the counter state_MiB is one sequence's state after the step).
// The whole model's decode state against a same-size Transformer (32 layers of full attention with
// the same heads) is in the JSON context, from primed states of these layers:
// sambay_state_MiB_ctx_N and llama_state_MiB_ctx_N (docs/benchmarks.md).
//
// Names: sambay_self_pair/phi4mf/bf16/prefill/T:2048/ctx:0/batch:1, ...
#include "common.hpp"

namespace samba_bench {
namespace {

constexpr index_t sambay_layers = 32;

Dims phi4mf() {
  ModelDims d;
  d.d_model = 2560;
  d.n_blocks = 4;
  d.n_heads = 40;
  d.n_kv_heads = 20;
  d.head_dim = 64;
  d.window = 512;
  d.d_ff = 10240;
  d.d_state = 16;
  d.d_conv = 4;
  d.expand = 2;
  d.dt_rank = 160;
  return {"phi4mf", d};
}

DiffAttentionConfig diff_config(const ModelDims& m, index_t layer, index_t window) {
  DiffAttentionConfig c;
  c.d_model = m.d_model;
  c.n_heads = m.n_heads;
  c.n_kv_heads = m.n_kv_heads;
  c.head_dim = m.head_dim;
  c.window = window;
  c.layer_index = layer;
  return c;
}

template <StorageType W>
presets::SambaY<cpu, W> make_self_pair(const ModelDims& m) {
  using Stack = presets::SambaY<cpu, W>;
  Random rng(41);
  return Stack::build(std::vector<index_t>{0, 1, 2, 1},
                      [&]<class Block>(std::type_identity<Block>, index_t b) {
                        if constexpr (std::is_same_v<Block, CrossDecoder<cpu, W>>) {
                          // Never called: the order has no cross-decoder block (the branch only has
                          // to compile).
                          return CrossDecoder<cpu, W>::random({}, rng);
                        } else {
                          using L = typename Block::layer_type;
                          typename Block::Config c;
                          if constexpr (std::is_same_v<L, MambaLayer<cpu, W>>)
                            c.layer = layer_config(m, std::type_identity<MambaConfig>{});
                          else if constexpr (std::is_same_v<L, SwiGLU<cpu, W>>)
                            c.layer = {m.d_model, m.d_ff};
                          else
                            c.layer = diff_config(m, b / 2, m.window);
                          return Block::random(c, rng);
                        }
                      });
}

template <StorageType W>
CrossDecoder<cpu, W> make_cross(const ModelDims& m) {
  typename CrossDecoder<cpu, W>::Config c;
  c.memory = layer_config(m, std::type_identity<MambaConfig>{});
  c.shared = diff_config(m, sambay_layers / 2 + 1, 0);
  c.n_pairs = 1;
  c.mlp = {m.d_model, m.d_ff};
  Random rng(42);
  return CrossDecoder<cpu, W>::random(c, rng);
}

double mib(double bytes) {
  return bytes / (1 << 20);
}

// One sequence's state of layer-like L primed to `context` tokens, in bytes.
template <class L>
double primed_bytes(const L& layer, index_t context) {
  auto s = layer.make_state();
  Random rng(3);
  prime(s, context, rng);
  return static_cast<double>(s.bytes());
}

template <StorageType W>
void add_sambay(const Dims& dims) {
  const ModelDims m = dims.model;
  const Lazy<presets::SambaY<cpu, W>> self([m] { return make_self_pair<W>(m); });
  const Lazy<CrossDecoder<cpu, W>> cross([m] { return make_cross<W>(m); });
  const std::vector<index_t> contexts = {4096, 32768};
  for (const Size& s : layer_sizes(contexts)) {
    if (s.decode && s.batch > 1) continue;
    add(bench_name("sambay_self_pair", dims, dtype_name<W>(), s), [=](benchmark::State& st) {
      if (s.decode)
        st.counters["state_MiB"] = mib(static_cast<double>(run_decode(st, *self, s.context, 1)));
      else
        run_prefill(st, *self, s.T);
    });
    add(bench_name("sambay_cross", dims, dtype_name<W>(), s), [=](benchmark::State& st) {
      if (s.decode)
        st.counters["state_MiB"] = mib(static_cast<double>(run_decode(st, *cross, s.context, 1)));
      else
        run_prefill(st, *cross, s.T);
    });
  }
}

// The whole model's per-sequence state at each context, from primed states of its layer kinds:
// 16 self-decoder layers (8 Mamba, 8 sliding-window), the memory Mamba layer and the shared cache;
// the Transformer: 32 full-attention layers of the same heads. Contexts past 32K are the same
// per-layer sizes extrapolated (the caches are linear in the context: position p in row p).
void add_state_context(const Dims& dims) {
  const ModelDims m = dims.model;
  Random rng(43);
  const auto mamba =
      MambaLayer<cpu, bf16>::random(layer_config(m, std::type_identity<MambaConfig>{}), rng);
  const auto swa =
      SlidingDifferentialAttention<cpu, bf16>::random(diff_config(m, 1, m.window), rng);
  const auto shared = CausalDifferentialAttention<cpu, bf16>::random(diff_config(m, 17, 0), rng);
  const auto llama = CausalAttention<cpu, bf16>::random(
      layer_config(m, std::type_identity<AttentionConfig>{}), rng);
  const index_t probe = 32768;
  const double per_token = primed_bytes(shared, probe) / static_cast<double>(probe + 1);
  const double llama_per_token = primed_bytes(llama, probe) / static_cast<double>(probe + 1);
  const double fixed = 9 * primed_bytes(mamba, 0) + 8 * primed_bytes(swa, probe);
  for (const index_t ctx : {4096, 32768, 131072, 1048576}) {
    const double c = static_cast<double>(ctx);
    benchmark::AddCustomContext("sambay_state_MiB_ctx_" + std::to_string(ctx),
                                std::to_string(mib(fixed + per_token * c)));
    benchmark::AddCustomContext("llama_state_MiB_ctx_" + std::to_string(ctx),
                                std::to_string(mib(sambay_layers * llama_per_token * c)));
  }
}

void register_benchmarks() {
  const Dims dims = phi4mf();
  add_state_context(dims);
  add_sambay<float>(dims);
  add_sambay<bf16>(dims);
}

}  // namespace
}  // namespace samba_bench

SAMBA_BENCH_MAIN(samba_bench::register_benchmarks)

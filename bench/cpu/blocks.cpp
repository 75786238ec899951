// Whole block pairs, as a model runs them: presets::Samba with 4 blocks ([Mamba, MLP, SWA, MLP],
// every block PreNorm: norm, layer, residual) against presets::Llama with 4 blocks ([attention,
// MLP] × 2), at the paper's dims, f32 and bf16 weights. Prefill from a fresh state; decode at batch
// 1 and 8 with every block's state filled to ctx tokens (Samba's SWA ring full at W; Llama's caches
// hold ctx).
#include "common.hpp"

namespace samba_bench {
namespace {

template <StorageType W>
void add_pairs(const Dims& dims) {
  const ModelDims m = dims.model;  // n_blocks 4
  const Lazy<presets::Samba<cpu, W>> samba([m] { return make_samba_pair<W>(m); });
  const Lazy<presets::Llama<cpu, W>> llama([m] { return make_llama_pair<W>(m); });
  // Samba's step should cost the same at every context past W; Llama's grows with it.
  add_layer("samba_pair", dims, dtype_name<W>(), samba, decode_contexts());
  add_layer("llama_pair", dims, dtype_name<W>(), llama, decode_contexts());
}

// One Griffin triple at RecurrentGemma-2B's dims; its local attention's cost stops growing at
// the window, like SWA's.
template <StorageType W>
void add_griffin(const Dims& dims) {
  const Lazy<presets::Griffin<cpu, W>> griffin(
      [m = dims.model] { return make_griffin_triple<W>(m); });
  add_layer("griffin_triple", dims, dtype_name<W>(), griffin, {default_context});
}

void register_benchmarks() {
  for (const Dims& dims : dims_set()) {
    add_pairs<float>(dims);
    add_pairs<bf16>(dims);
  }
  add_griffin<float>(griffin_2b());
  add_griffin<bf16>(griffin_2b());
}

}  // namespace
}  // namespace samba_bench

SAMBA_BENCH_MAIN(samba_bench::register_benchmarks)

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

void register_benchmarks() {
  for (const Dims& dims : dims_set()) {
    add_pairs<float>(dims);
    add_pairs<bf16>(dims);
  }
}

}  // namespace
}  // namespace samba_bench

SAMBA_BENCH_MAIN(samba_bench::register_benchmarks)

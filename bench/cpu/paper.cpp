// The paper's headline on the CPU: Samba against a Transformer of the same size as the prompt and
// the generated text grow.
//
// presets::Samba with 4 blocks ([Mamba, MLP, SWA, MLP]: one block pair) against presets::Llama with
// 4 blocks ([full causal attention, MLP] × 2), at Samba-421M dims. The paper compares models of
// matched size, so Llama's MLP is widened until both stacks have the same parameter count (to a
// multiple of 64: 5056 against Samba's 4096; both counts are in the JSON context). f32 weights.
//
// - prefill: a prompt of T tokens from a fresh state, in chunks of 2048 tokens (as a Session
//   prefills), T from 1K to 16K (--full: to 64K). Counter state_MiB: the sequence's state after it.
// - decode: one step at a context of ctx tokens (states primed as in the other programs), ctx from
//   1K to 64K (--full: to 256K). Time to decode N tokens is the integral of the step time over
//   0 … N (bench/report.py). Counter state_MiB: the state the step reads and extends.
//
// Names: paper_samba/421M/f32/prefill/T:16384/ctx:0/batch:1, paper_llama/421M/f32/decode/T:1/...
#include "common.hpp"

namespace samba_bench {
namespace {

constexpr index_t prefill_chunk = 2048;

using Samba = presets::Samba<cpu, float>;
using Llama = presets::Llama<cpu, float>;

std::vector<index_t> prompt_lengths() {
  if (options().full) return {1024, 2048, 4096, 8192, 16384, 32768, 65536};
  return {1024, 4096, 16384};
}
std::vector<index_t> contexts() {
  if (options().full) return {1024, 4096, 16384, 65536, 131072, 262144};
  return {1024, 4096, 16384, 65536};
}

double mib(std::size_t bytes) {
  return static_cast<double>(bytes) / (1 << 20);
}

template <class L>
void run_chunked_prefill(benchmark::State& st, const L& stack, index_t T) {
  const index_t d = stack.d_model();
  const auto x = random_rows(prefill_chunk, d);
  HostBuffer<float> y(prefill_chunk * d);
  std::size_t state_bytes = 0;
  for (auto _ : st) {
    auto s = stack.make_state();
    for (index_t t0 = 0; t0 < T; t0 += prefill_chunk) {
      const index_t n = std::min(prefill_chunk, T - t0);
      stack.forward(s, x.view<2>({n, d}), y.view<2>({n, d}));
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    state_bytes = s.bytes();
  }
  set_counters(st, layer_work(stack, 0, T, 1));
  st.counters["state_MiB"] = mib(state_bytes);
}

template <class L>
void run_decode_step(benchmark::State& st, const L& stack, index_t context) {
  st.counters["state_MiB"] = mib(run_decode(st, stack, context, 1));
}

template <class L>
void add_model(std::string_view workload, const Dims& dims, Lazy<L> stack) {
  for (index_t T : prompt_lengths())
    add(bench_name(workload, dims, "f32", "prefill", T, 0, 1),
        [=](benchmark::State& st) { run_chunked_prefill(st, *stack, T); });
  for (index_t ctx : contexts())
    add(bench_name(workload, dims, "f32", "decode", 1, ctx, 1),
        [=](benchmark::State& st) { run_decode_step(st, *stack, ctx); });
}

void register_benchmarks() {
  const Dims dims = samba_421m();
  const ModelDims ld = llama_dims(dims.model);
  const Lazy<Samba> samba([m = dims.model] { return Samba::random(make_config<Samba>(m), 31); });
  const Lazy<Llama> llama([ld] { return Llama::random(make_config<Llama>(ld), 32); });
  benchmark::AddCustomContext("paper_samba_params", std::to_string((*samba).parameter_count()));
  benchmark::AddCustomContext("paper_llama_params", std::to_string((*llama).parameter_count()));
  benchmark::AddCustomContext("paper_llama_d_ff", std::to_string(ld.d_ff));
  add_model("paper_samba", dims, samba);
  add_model("paper_llama", dims, llama);
}

}  // namespace
}  // namespace samba_bench

SAMBA_BENCH_MAIN(samba_bench::register_benchmarks)

// samba_bench_cuda: the CUDA backend on the GPU (Google Benchmark; each time is the device time of
// the enqueued work, measured with CUDA events).
//
//   ceilings      what this device does at best, measured first in the same run (JSON context):
//                 a device-to-device copy (GB/s) and cuBLAS 8192³ GEMMs in bf16 (tensor cores,
//                 f32 accumulation) and f32. Counters of_copy and of_bf16_peak are the fractions
//                 of these that each benchmark reaches.
//   layer/...     a layer's forward at Samba-1.3B dims (bench/dims.hpp, as in the CPU programs:
//                 d_model 2304, 18 query heads × 128 with 6 KV heads, MLP 6144, window 2048), bf16
//                 weights, prefill of T tokens from a fresh state: Mamba, SWA, SwiGLU, and the
//                 mixers of the gated linear recurrence (Mamba-2, GLA, retention).
//   scan/...      the selective scan alone (d_inner 4608, d_state 16): GB/s of the bytes it must
//                 move (u, Δ, z in; y out; B, C in), against the copy ceiling.
//   swa/...       the flash attention kernel alone over a chunk of T tokens: TFLOP/s of the tiles
//                 it computes (4 · head_dim flops per visible query-key pair), against the bf16
//                 GEMM ceiling.
//   decode/...    one decode step of a 36-block Samba-1.3B-size stack at batch 1 after a 4K
//                 prompt, eager and replayed as a CUDA graph: GB/s of the weights and state it
//                 reads, against the copy ceiling.
//   paper/...     the paper's comparison: Samba (one [Mamba, MLP, SWA, MLP] block pair) against a
//                 Llama stack of the same parameter count ([attention, MLP] × 2, MLP widened),
//                 prefill of T tokens in 2048-token chunks, and one decode step at ctx tokens.
//
// Without a CUDA device the program says so and exits with status 77.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <samba/cuda.cuh>

#include "../dims.hpp"

namespace {

using namespace samba;  // (name the backend samba::cuda: CCCL has a namespace ::cuda)
using cuda_detail::check_cuda;

// --- timing and ceilings -----------------------------------------------------------------------

// Runs body once per iteration and records the device time between two events around it.
void time_on_device(benchmark::State& st, const std::function<void()>& body) {
  CudaContext& ctx = CudaContext::current();
  cudaEvent_t start, stop;
  check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  body();  // warm-up: allocations, cuBLAS heuristics, shared-memory opt-ins
  ctx.synchronize();
  for (auto _ : st) {
    check_cuda(cudaEventRecord(start, ctx.stream()), "cudaEventRecord");
    body();
    check_cuda(cudaEventRecord(stop, ctx.stream()), "cudaEventRecord");
    check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    st.SetIterationTime(ms / 1e3);
  }
  (void)cudaEventDestroy(start);
  (void)cudaEventDestroy(stop);
}

// The ceilings, measured once before the benchmarks run (best of 5): every rate below is also
// printed as a fraction of them (counters of_copy, of_bf16_peak).
struct Ceilings {
  double copy_bytes_per_s = 0, bf16_flops_per_s = 0, f32_flops_per_s = 0;
};
Ceilings& ceilings() {
  static Ceilings c;
  return c;
}

double best_seconds(const std::function<void()>& body, int repeats = 5) {
  CudaContext& ctx = CudaContext::current();
  cudaEvent_t start, stop;
  check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  body();
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    check_cuda(cudaEventRecord(start, ctx.stream()), "cudaEventRecord");
    body();
    check_cuda(cudaEventRecord(stop, ctx.stream()), "cudaEventRecord");
    check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    best = std::min(best, ms / 1e3);
  }
  (void)cudaEventDestroy(start);
  (void)cudaEventDestroy(stop);
  return best;
}

template <StorageType W>
double gemm_flops_per_s() {
  const int n = 8192;
  DeviceBuffer<W> a(index_t{n} * n), b(index_t{n} * n);
  DeviceBuffer<float> c(index_t{n} * n);
  const float one = 1.0f, zero = 0.0f;
  cublasHandle_t h = CudaContext::current().cublas();
  const double s = best_seconds([&] {
    cuda_detail::check_cublas(
        cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, a.data(),
                     cuda_detail::cuda_type_v<W>, n, b.data(), cuda_detail::cuda_type_v<W>, n,
                     &zero, c.data(), CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
  });
  return 2.0 * n * n * static_cast<double>(n) / s;
}

void measure_ceilings() {
  Ceilings& c = ceilings();
  {
    const index_t n = index_t{1} << 28;  // 1 GiB of f32, copied: 2 GiB moved
    DeviceBuffer<float> a(n), b(n);
    const double s = best_seconds([&] {
      check_cuda(cudaMemcpyAsync(b.data(), a.data(), a.bytes(), cudaMemcpyDeviceToDevice,
                                 CudaContext::current().stream()),
                 "cudaMemcpyAsync");
    });
    c.copy_bytes_per_s = 2.0 * static_cast<double>(a.bytes()) / s;
  }
  c.bf16_flops_per_s = gemm_flops_per_s<bf16>();
  c.f32_flops_per_s = gemm_flops_per_s<float>();
  benchmark::AddCustomContext("ceiling_copy_GBps", std::to_string(c.copy_bytes_per_s / 1e9));
  benchmark::AddCustomContext("ceiling_bf16_TFLOPs", std::to_string(c.bf16_flops_per_s / 1e12));
  benchmark::AddCustomContext("ceiling_f32_TFLOPs", std::to_string(c.f32_flops_per_s / 1e12));
}

// Rate counters: `per_iteration` units of work per iteration, shown per second / scale.
void rate(benchmark::State& st, double per_iteration, const char* name, double scale) {
  st.counters[name] =
      benchmark::Counter(per_iteration / scale, benchmark::Counter::kIsIterationInvariantRate);
}
void bytes_rate(benchmark::State& st, double bytes) {
  rate(st, bytes, "GB/s", 1e9);
  rate(st, bytes, "of_copy", ceilings().copy_bytes_per_s);
}
void flops_rate(benchmark::State& st, double flops) {
  rate(st, flops, "TFLOP/s", 1e12);
  rate(st, flops, "of_bf16_peak", ceilings().bf16_flops_per_s);
}

// --- model dims (../dims.hpp, shared with the CPU programs) --------------------------------------

ModelDims samba_1_3b(index_t n_blocks) {
  ModelDims d = samba_bench::samba_1_3b().model;
  d.n_blocks = n_blocks;
  return d;
}

// Registers a benchmark timed with CUDA events (manual time).
template <class F>
benchmark::internal::Benchmark* add(const std::string& name, F&& body, benchmark::TimeUnit unit) {
  return benchmark::RegisterBenchmark(name.c_str(), std::forward<F>(body))
      ->UseManualTime()
      ->Unit(unit);
}

DeviceBuffer<float> random_rows(index_t rows, index_t cols, std::uint64_t seed = 1) {
  HostBuffer<float> h(rows * cols);
  Random rng(seed);
  for (auto& v : h) v = rng.normal();
  return to_device(h);
}

// --- layers ------------------------------------------------------------------------------------

template <class L>
void layer_prefill(benchmark::State& st, const L& layer, index_t T, double flops) {
  const index_t d = layer.d_model();
  const auto x = random_rows(T, d);
  DeviceBuffer<float> y(T * d, DeviceBuffer<float>::uninitialized);
  time_on_device(st, [&] {
    auto s = layer.make_state();
    layer.forward(s, x.view<2>({T, d}), y.view<2>({T, d}));
  });
  rate(st, static_cast<double>(T), "tok/s", 1.0);
  flops_rate(st, flops);
}

void register_layers(const std::vector<index_t>& lengths) {
  const ModelDims dims = samba_1_3b(1);
  Random rng(1);
  auto mamba =
      std::make_shared<MambaLayer<samba::cuda, bf16>>(MambaLayer<samba::cuda, bf16>::random(
          layer_config(dims, std::type_identity<MambaConfig>{}), rng));
  auto swa = std::make_shared<SlidingWindowAttention<samba::cuda, bf16>>(
      SlidingWindowAttention<samba::cuda, bf16>::random(
          layer_config(dims, std::type_identity<AttentionConfig>{}), rng));
  auto mlp = std::make_shared<SwiGLU<samba::cuda, bf16>>(SwiGLU<samba::cuda, bf16>::random(
      layer_config(dims, std::type_identity<SwiGLUConfig>{}), rng));
  // The mixers of the gated linear recurrence (recurrent form on CUDA), at the same width:
  // Mamba-2 (heads of 64, d_state 128, one group), GLA and retention with fla's head counts.
  Mamba2Config m2;
  m2.d_model = dims.d_model;
  m2.head_dim = 64;
  m2.d_state = 128;
  m2.n_groups = 1;
  auto mamba2 = std::make_shared<Mamba2Layer<samba::cuda, bf16>>(
      Mamba2Layer<samba::cuda, bf16>::random(m2, rng));
  GLAConfig gc;
  gc.d_model = dims.d_model;
  gc.n_heads = 4;
  auto gla = std::make_shared<GatedLinearAttention<samba::cuda, bf16>>(
      GatedLinearAttention<samba::cuda, bf16>::random(gc, rng));
  RetentionConfig rc;
  rc.d_model = dims.d_model;
  rc.n_heads = 8;
  auto retention = std::make_shared<MultiScaleRetention<samba::cuda, bf16>>(
      MultiScaleRetention<samba::cuda, bf16>::random(rc, rng));
  const double q = static_cast<double>(dims.n_heads * dims.head_dim);
  for (const index_t T : lengths) {
    const double t = static_cast<double>(T);
    const double visible = t * std::min<double>(dims.window, t);  // query-key pairs, about
    const std::string suffix = "/1.3B/bf16/prefill/T:" + std::to_string(T);
    add(
        "layer/mamba" + suffix,
        [=](benchmark::State& st) {
          layer_prefill(st, *mamba, T, 2.0 * t * static_cast<double>(mamba->parameter_count()));
        },
        benchmark::kMillisecond);
    add(
        "layer/swa" + suffix,
        [=](benchmark::State& st) {
          layer_prefill(st, *swa, T,
                        2.0 * t * static_cast<double>(swa->parameter_count()) + 4.0 * visible * q);
        },
        benchmark::kMillisecond);
    // FLOPs: the projections and 6 per state element and step (H·K·V elements).
    const auto recurrent = [=](const auto& l, double state) {
      return 2.0 * t * static_cast<double>(l.parameter_count()) + 6.0 * t * state;
    };
    add(
        "layer/mamba2" + suffix,
        [=](benchmark::State& st) {
          layer_prefill(
              st, *mamba2, T,
              recurrent(*mamba2, static_cast<double>(m2.resolved_d_inner() * m2.d_state)));
        },
        benchmark::kMillisecond);
    add(
        "layer/gla" + suffix,
        [=](benchmark::State& st) {
          layer_prefill(st, *gla, T, recurrent(*gla, static_cast<double>(gla->ssm_size())));
        },
        benchmark::kMillisecond);
    add(
        "layer/retention" + suffix,
        [=](benchmark::State& st) {
          layer_prefill(st, *retention, T,
                        recurrent(*retention, static_cast<double>(retention->ssm_size())));
        },
        benchmark::kMillisecond);
    add(
        "layer/swiglu" + suffix,
        [=](benchmark::State& st) {
          layer_prefill(st, *mlp, T, 2.0 * t * static_cast<double>(mlp->parameter_count()));
        },
        benchmark::kMillisecond);
  }
}

// --- kernels alone -----------------------------------------------------------------------------

void scan_alone(benchmark::State& st, index_t T) {
  const ModelDims dims = samba_1_3b(1);
  const index_t di = dims.expand * dims.d_model, n = dims.d_state;
  const auto u = random_rows(T, di, 1), dt = random_rows(T, di, 2), z = random_rows(T, di, 3);
  const auto bc = random_rows(T, 2 * n, 4);
  DeviceBuffer<float> bias(di), A(di * n), D(di), y(T * di), conv(3 * di), ssm(di * n);
  cuda_detail::ScanArgs a;
  a.u = u.data();
  a.dt = dt.data();
  a.dt_bias = bias.data();
  a.A = A.data();
  a.B = bc.data();
  a.ld_bc = 2 * n;
  a.D = D.data();
  a.z = z.data();
  a.ld_z = di;
  a.y = y.data();
  a.d_inner = static_cast<int>(di);
  a.d_state = static_cast<int>(n);
  cuda_detail::LaunchBatch<cuda_detail::MambaSeq> batch;
  batch.n = 1;
  batch.max_len = static_cast<int>(T);
  batch.seq[0] = {0, static_cast<int>(T), conv.data(), ssm.data()};
  time_on_device(st,
                 [&] { cuda_detail::selective_scan(batch, a, CudaContext::current().stream()); });
  const double bytes = 4.0 * (4.0 * static_cast<double>(T * di) + 2.0 * static_cast<double>(T * n));
  bytes_rate(st, bytes);
}

void swa_alone(benchmark::State& st, index_t T) {
  const ModelDims dims = samba_1_3b(1);
  const int nh = static_cast<int>(dims.n_heads), nkv = static_cast<int>(dims.n_kv_heads),
            hd = static_cast<int>(dims.head_dim), qd = nh * hd, kvd = nkv * hd;
  const index_t window = dims.window;
  const auto qkv = random_rows(T, qd + 2 * kvd, 5);
  DeviceBuffer<float> o(T * qd), k(16 * kvd), v(16 * kvd);
  cuda_detail::AttnArgs a;
  a.qkv = qkv.data();
  a.ld_qkv = qd + 2 * kvd;
  a.out = o.data();
  a.n_heads = nh;
  a.n_kv_heads = nkv;
  a.head_dim = hd;
  a.q_dim = qd;
  a.kv_dim = kvd;
  a.total_rows = static_cast<int>(T);
  a.window = window;
  a.scale = 1.0f / std::sqrt(static_cast<float>(hd));
  cuda_detail::LaunchBatch<cuda_detail::AttnSeq> batch;
  batch.n = 1;
  batch.max_len = static_cast<int>(T);
  batch.seq[0] = {0, static_cast<int>(T), 0, 16, k.data(), v.data()};
  time_on_device(st,
                 [&] { cuda_detail::flash_attention(batch, a, CudaContext::current().stream()); });
  // Query-key pairs inside the window: Σ_i min(i + 1, W).
  const double t = static_cast<double>(T), w = static_cast<double>(std::min(window, T));
  const double pairs = w * (w + 1) / 2 + (t - w) * w;
  flops_rate(st, 4.0 * hd * pairs * nh);
}

// --- stacks: decode and the paper's comparison ---------------------------------------------------

template <class Stack>
void prime(const Stack& stack, typename Stack::State& s, index_t ctx) {
  const index_t d = stack.d_model(), chunk = 2048;
  const auto x = random_rows(chunk, d, 7);
  DeviceBuffer<float> y(chunk * d, DeviceBuffer<float>::uninitialized);
  for (index_t t = 0; t < ctx; t += chunk) {
    const index_t n = std::min(chunk, ctx - t);
    stack.forward(s, x.view<2>({chunk, d}).slice(0, n), y.view<2>({chunk, d}).slice(0, n));
  }
}

template <class Stack>
std::size_t weight_bytes(const Stack& stack) {
  return stack.parameter_count() * 2;  // bf16 weights (norms and Mamba's small tensors are f32)
}

template <class Stack>
void decode_step(benchmark::State& st, const Stack& stack, index_t ctx, bool graph) {
  const index_t d = stack.d_model();
  auto s = stack.make_state();
  prime(stack, s, ctx);
  const auto x = random_rows(1, d, 8);
  DeviceBuffer<float> y(d);
  CudaGraphDecoder<Stack> decoder(stack);
  // Each step extends the state by one token; the context grows by the iteration count, which is
  // small against ctx.
  time_on_device(st, [&] {
    if (graph)
      decoder.step(s, x.view<2>({1, d}), y.view<2>({1, d}));
    else
      stack.forward(s, x.view<2>({1, d}), y.view<2>({1, d}));
  });
  const double bytes = static_cast<double>(weight_bytes(stack) + s.bytes());
  bytes_rate(st, bytes);
  rate(st, 1.0, "tok/s", 1.0);
}

template <class Stack>
void prefill(benchmark::State& st, const Stack& stack, index_t T) {
  const index_t d = stack.d_model(), chunk = 2048;
  const auto x = random_rows(chunk, d, 9);
  DeviceBuffer<float> y(chunk * d, DeviceBuffer<float>::uninitialized);
  time_on_device(st, [&] {
    auto s = stack.make_state();
    for (index_t t = 0; t < T; t += chunk) {
      const index_t n = std::min(chunk, T - t);
      stack.forward(s, x.view<2>({chunk, d}).slice(0, n), y.view<2>({chunk, d}).slice(0, n));
    }
  });
  rate(st, static_cast<double>(T), "tok/s", 1.0);
}

using SambaStack = presets::Samba<samba::cuda, bf16>;
using LlamaStack = presets::Llama<samba::cuda, bf16>;

void register_stacks(bool full) {
  auto samba36 =
      std::make_shared<SambaStack>(SambaStack::random(make_config<SambaStack>(samba_1_3b(36)), 1));
  for (const bool graph : {false, true}) {
    add(
        std::string("decode/samba/1.3B/bf16/") + (graph ? "graph" : "eager") + "/ctx:4096",
        [=](benchmark::State& st) { decode_step(st, *samba36, 4096, graph); },
        benchmark::kMicrosecond);
  }

  // The paper's pair: Llama's MLP widened to Samba's parameter count (samba_bench::llama_dims).
  const ModelDims sd = samba_1_3b(4), ld = samba_bench::llama_dims(sd);
  auto samba = std::make_shared<SambaStack>(SambaStack::random(make_config<SambaStack>(sd), 2));
  auto llama = std::make_shared<LlamaStack>(LlamaStack::random(make_config<LlamaStack>(ld), 2));
  benchmark::AddCustomContext("paper_samba_params", std::to_string(samba->parameter_count()));
  benchmark::AddCustomContext("paper_llama_params", std::to_string(llama->parameter_count()));
  const std::vector<index_t> prompts =
      full ? std::vector<index_t>{4096, 16384, 65536, 131072} : std::vector<index_t>{16384, 65536};
  const std::vector<index_t> contexts =
      full ? std::vector<index_t>{4096, 16384, 65536, 131072} : std::vector<index_t>{4096, 65536};
  for (const index_t T : prompts) {
    add(
        "paper/samba/1.3B/bf16/prefill/T:" + std::to_string(T),
        [=](benchmark::State& st) { prefill(st, *samba, T); }, benchmark::kMillisecond)
        ->Iterations(3);
    add(
        "paper/llama/1.3B/bf16/prefill/T:" + std::to_string(T),
        [=](benchmark::State& st) { prefill(st, *llama, T); }, benchmark::kMillisecond)
        ->Iterations(3);
  }
  for (const index_t ctx : contexts) {
    add(
        "paper/samba/1.3B/bf16/decode/ctx:" + std::to_string(ctx),
        [=](benchmark::State& st) { decode_step(st, *samba, ctx, true); }, benchmark::kMicrosecond);
    add(
        "paper/llama/1.3B/bf16/decode/ctx:" + std::to_string(ctx),
        [=](benchmark::State& st) { decode_step(st, *llama, ctx, true); }, benchmark::kMicrosecond);
  }
}

void register_all(bool full) {
  const std::vector<index_t> lengths = full ? std::vector<index_t>{4096, 16384, 65536, 131072}
                                            : std::vector<index_t>{4096, 16384, 131072};
  register_layers(lengths);
  for (const index_t T : lengths) {
    add(
        "scan/1.3B/prefill/T:" + std::to_string(T),
        [=](benchmark::State& st) { scan_alone(st, T); }, benchmark::kMillisecond);
    add(
        "swa/1.3B/W:2048/prefill/T:" + std::to_string(T),
        [=](benchmark::State& st) { swa_alone(st, T); }, benchmark::kMillisecond);
  }
  register_stacks(full);
}

}  // namespace

int main(int argc, char** argv) {
  if (!cuda_device_available()) {
    std::puts("samba_bench_cuda: no usable CUDA device; nothing to measure");
    return 77;
  }
  bool full = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--full")
      full = true;
    else
      args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  cudaDeviceProp prop{};
  check_cuda(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  int clock_khz = 0, bus_bits = 0;
  (void)cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, 0);
  (void)cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0);
  benchmark::AddCustomContext("device", prop.name);
  benchmark::AddCustomContext("hbm_peak_GBps",
                              std::to_string(2.0 * clock_khz * 1e3 * bus_bits / 8 / 1e9));
  benchmark::Initialize(&n, args.data());
  measure_ceilings();
  register_all(full);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // The registered benchmarks hold device buffers: free them while the CUDA context still exists.
  benchmark::ClearRegisteredBenchmarks();
  return 0;
}

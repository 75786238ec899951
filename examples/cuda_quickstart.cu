// The CUDA backend in a few lines: a Samba stack (bf16 weights) on the GPU, a prompt prefilled in
// chunks, then decode steps replayed as a CUDA graph. Random weights and inputs: the point is the
// API and the constant-size state. Build: any nvcc-compiled target linking samba::cuda.
//
//   build/release/examples/samba_cuda_quickstart [prompt tokens, default 8192]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <samba/cuda.cuh>

int main(int argc, char** argv) {
  if (!samba::cuda_device_available()) {
    std::puts("samba_cuda_quickstart: no usable CUDA device");
    return 77;
  }
  const samba::index_t prompt = argc > 1 ? std::atol(argv[1]) : 8192, chunk = 2048, steps = 128;

  samba::ModelDims dims;  // Samba-421M's widths, one [Mamba, MLP, SWA, MLP] repetition × 2
  dims.d_model = 1536;
  dims.n_blocks = 8;
  dims.n_heads = 12;
  dims.n_kv_heads = 4;
  dims.head_dim = 128;
  dims.window = 2048;
  dims.d_ff = 4096;
  using Stack = samba::presets::Samba<samba::cuda, samba::bf16>;
  const Stack stack = Stack::random(samba::make_config<Stack>(dims), /*seed=*/1);
  const samba::index_t d = stack.d_model();

  // Inputs on the device: random rows standing in for embeddings.
  samba::HostBuffer<float> host(chunk * d);
  samba::Random rng(2);
  for (float& v : host) v = rng.normal();
  const samba::DeviceBuffer<float> x = samba::to_device(host);
  samba::DeviceBuffer<float> y(chunk * d);

  auto state = stack.make_state();
  samba::CudaContext& ctx = samba::CudaContext::current();
  auto t0 = std::chrono::steady_clock::now();
  for (samba::index_t t = 0; t < prompt; t += chunk) {
    const samba::index_t n = std::min(chunk, prompt - t);
    stack.forward(state, x.view<2>({chunk, d}).slice(0, n), y.view<2>({chunk, d}).slice(0, n));
  }
  ctx.synchronize();
  const double prefill_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  samba::CudaGraphDecoder decoder(stack);
  t0 = std::chrono::steady_clock::now();
  for (samba::index_t i = 0; i < steps; ++i)
    decoder.step(state, x.view<2>({chunk, d}).slice(i, 1), y.view<2>({chunk, d}).slice(0, 1));
  ctx.synchronize();
  const double decode_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::printf("Samba %lld blocks, d_model %lld, bf16 weights (%.1fM parameters)\n",
              static_cast<long long>(dims.n_blocks), static_cast<long long>(d),
              static_cast<double>(stack.parameter_count()) / 1e6);
  std::printf("  prefill: %lld tokens in %.3f s = %.0f tok/s\n", static_cast<long long>(prompt),
              prefill_s, static_cast<double>(prompt) / prefill_s);
  std::printf("  decode (CUDA graph): %lld tokens in %.3f s = %.0f tok/s\n",
              static_cast<long long>(steps), decode_s, static_cast<double>(steps) / decode_s);
  std::printf("  state after %lld tokens: %.2f MiB (device)\n",
              static_cast<long long>(state.position),
              static_cast<double>(state.bytes()) / (1 << 20));
  return 0;
}

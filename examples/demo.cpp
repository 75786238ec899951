// samba demo: a Samba stack against a same-size full-attention (Llama-style) stack.
//
// Both get random weights, a long prompt fed in chunks (prefill), then generate token by token
// (decode) with a tied embedding as the output head. The demo prints throughput per phase and the
// per-sequence state each model carries: Samba's (Mamba state + a sliding-window KV ring) stays
// constant once the window is full, while the Transformer's KV cache grows with every token.
//
//   samba_demo [--prompt N] [--chunk N] [--decode N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <samba/samba.hpp>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  samba::index_t prompt = 8192, chunk = 512, decode = 128;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    auto value = [&](const char* flag) -> samba::index_t {
      if (i + 1 >= argc) throw samba::error(std::string("demo: ") + flag + " needs a value");
      const long v = std::strtol(argv[++i], nullptr, 10);
      if (v <= 0) throw samba::error(std::string("demo: ") + flag + " must be a positive integer");
      return v;
    };
    if (!std::strcmp(argv[i], "--prompt"))
      o.prompt = value("--prompt");
    else if (!std::strcmp(argv[i], "--chunk"))
      o.chunk = value("--chunk");
    else if (!std::strcmp(argv[i], "--decode"))
      o.decode = value("--decode");
    else
      throw samba::error(std::string("demo: unknown argument '") + argv[i] +
                         "' (use --prompt N, --chunk N, --decode N)");
  }
  return o;
}

double mib(std::size_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

// Embedding rows for token ids, and a greedy tied head: next = argmax_v E[v] · h.
struct Embedding {
  samba::index_t vocab, d;
  samba::HostBuffer<float> table;
  Embedding(samba::index_t v, samba::index_t dim, std::uint64_t seed)
      : vocab(v), d(dim), table(v * dim) {
    samba::Random rng(seed);
    for (auto& x : table) x = rng.normal();
  }
  void lookup(const std::vector<int>& ids, float* out) const {
    for (std::size_t t = 0; t < ids.size(); ++t)
      std::copy_n(table.data() + ids[t] * d, d, out + static_cast<samba::index_t>(t) * d);
  }
  int argmax(const float* h) const {
    int best = 0;
    float best_score = -1e30f;
    for (samba::index_t v = 0; v < vocab; ++v) {
      float s = 0.0f;
      for (samba::index_t i = 0; i < d; ++i) s += table[v * d + i] * h[i];
      if (s > best_score) best_score = s, best = static_cast<int>(v);
    }
    return best;
  }
};

template <class Stack>
void run(const char* name, const Stack& stack, const Embedding& emb, const Options& o) {
  const samba::index_t d = stack.d_model();
  auto state = stack.make_state();
  std::vector<int> prompt(static_cast<std::size_t>(o.prompt));
  samba::Random rng(7);
  for (auto& id : prompt) id = static_cast<int>(rng.next() % static_cast<std::uint64_t>(emb.vocab));

  std::printf("\n%s\n  %-10s %12s %14s\n", name, "tokens", "prefill tok/s", "state MiB");
  samba::HostBuffer<float> x(o.chunk * d), y(o.chunk * d);
  const auto t0 = Clock::now();
  auto last_report = t0;
  samba::index_t last_tokens = 0, next_report = 1024;
  for (samba::index_t t = 0; t < o.prompt; t += o.chunk) {
    const samba::index_t n = std::min(o.chunk, o.prompt - t);
    emb.lookup(std::vector<int>(prompt.begin() + t, prompt.begin() + t + n), x.data());
    stack.forward(state, x.view<2>({n, d}), y.view<2>({n, d}));
    if (t + n >= next_report || t + n == o.prompt) {
      const auto now = Clock::now();
      const double secs = std::chrono::duration<double>(now - last_report).count();
      std::printf("  %-10lld %12.0f %14.2f\n", static_cast<long long>(t + n),
                  static_cast<double>(t + n - last_tokens) / secs, mib(state.bytes()));
      last_report = now;
      last_tokens = t + n;
      while (next_report <= t + n) next_report *= 2;
    }
  }
  const double prefill_s = std::chrono::duration<double>(Clock::now() - t0).count();

  // Decode: greedy, one token at a time, from the last prompt position.
  int token = emb.argmax(y.data() + ((o.prompt - 1) % o.chunk) * d);
  const auto t1 = Clock::now();
  for (samba::index_t i = 0; i < o.decode; ++i) {
    emb.lookup({token}, x.data());
    stack.forward(state, x.view<2>({1, d}), y.view<2>({1, d}));
    token = emb.argmax(y.data());
  }
  const double decode_s = std::chrono::duration<double>(Clock::now() - t1).count();
  std::printf("  prefill: %lld tokens in %.2f s = %.0f tok/s\n", static_cast<long long>(o.prompt),
              prefill_s, static_cast<double>(o.prompt) / prefill_s);
  std::printf("  decode:  %lld tokens in %.2f s = %.1f tok/s (at context %lld)\n",
              static_cast<long long>(o.decode), decode_s, static_cast<double>(o.decode) / decode_s,
              static_cast<long long>(o.prompt + o.decode));
  std::printf("  per-sequence state after %lld tokens: %.2f MiB\n",
              static_cast<long long>(state.position), mib(state.bytes()));
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  // Shared dimensions; Samba's blocks are [Mamba, MLP, SWA, MLP], Llama's [attention, MLP].
  samba::ModelDims dims;
  dims.d_model = 256;
  dims.n_blocks = 8;
  dims.n_heads = 4;
  dims.n_kv_heads = 2;
  dims.head_dim = 64;
  dims.window = 512;
  dims.d_ff = 768;
  using Samba = samba::presets::Samba<>;
  using Llama = samba::presets::Llama<>;
  const auto samba_stack = Samba::random(samba::make_config<Samba>(dims), 1);
  const auto llama_stack = Llama::random(samba::make_config<Llama>(dims), 1);
  const Embedding emb(512, dims.d_model, 3);

  std::printf(
      "samba demo: d_model %lld, %lld blocks, %lld heads x %lld (GQA %lld kv), window %lld\n",
      static_cast<long long>(dims.d_model), static_cast<long long>(dims.n_blocks),
      static_cast<long long>(dims.n_heads), static_cast<long long>(dims.head_dim),
      static_cast<long long>(dims.n_kv_heads), static_cast<long long>(dims.window));
  std::printf("prompt %lld tokens in chunks of %lld, then %lld decoded tokens; random weights\n",
              static_cast<long long>(o.prompt), static_cast<long long>(o.chunk),
              static_cast<long long>(o.decode));
  run("Samba [Mamba, MLP, SWA, MLP] x 2", samba_stack, emb, o);
  run("Llama [attention, MLP] x 4 (full causal attention)", llama_stack, emb, o);
  return 0;
} catch (const samba::error& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 2;
}

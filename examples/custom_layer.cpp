// A layer of your own in a hybrid stack of your own, without touching the library.
//
// EmaMixer is a causal per-channel exponential moving average followed by a projection:
//
//   s_t = α ⊙ x_t + (1 − α) ⊙ s_{t−1},   s_{−1} = 0
//   y_t = W_o · s_t
//
// It models samba::Layer, so it drops into PreNorm and HybridStack next to the library's layers.
// See docs/custom_layers.md.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <tuple>
#include <type_traits>
#include <utility>

#include <samba/samba.hpp>

namespace mylib {

class EmaMixer {
 public:
  using backend_type = samba::cpu;
  struct Config {
    samba::index_t d_model = 0;
  };
  struct Weights {
    samba::Tensor<float> alpha;  // [d_model], in (0, 1)
    samba::Tensor<float> wo;     // [d_model, d_model]
  };
  // Per sequence: the running average s_{t−1}. A copy is a snapshot.
  struct State {
    samba::HostBuffer<float> s;  // [d_model]
    std::size_t bytes() const { return s.bytes(); }
  };

  EmaMixer(const Config& config, Weights weights) : config_(config), weights_(std::move(weights)) {
    const samba::index_t d = config_.d_model;
    if (d <= 0) throw samba::error("EmaMixer: d_model must be > 0");
    samba::check_shape(weights_.alpha, "EmaMixer", "alpha", {d});
    samba::check_shape(weights_.wo, "EmaMixer", "wo", {d, d});
  }

  // α uniform in [0.1, 0.9); W_o uniform in ±1/sqrt(d_model).
  static EmaMixer random(const Config& config, samba::Random& rng) {
    const samba::index_t d = config.d_model;
    samba::HostBuffer<float> alpha(d), wo(d * d);
    for (auto& a : alpha) a = rng.uniform(0.1f, 0.9f);
    const float bound = 1.0f / std::sqrt(static_cast<float>(d));
    for (auto& w : wo) w = rng.uniform(-bound, bound);
    return EmaMixer(config, {samba::Tensor<float>({d}, std::move(alpha)),
                             samba::Tensor<float>({d, d}, std::move(wo))});
  }

  const Weights& weights() const { return weights_; }
  samba::index_t d_model() const { return config_.d_model; }
  State make_state() const { return State{samba::HostBuffer<float>(d_model())}; }

  void forward(State& state, samba::ConstMatrixView<float> x, samba::MatrixView<float> y) const {
    const samba::index_t T = x.rows(), d = d_model();
    if (x.cols() != d || y.cols() != d || y.rows() != T || state.s.size() != d)
      throw samba::error("EmaMixer: x, y must be [T, d_model] and the state of this layer");
    samba::ScratchBuffer<float> mixed(T * d);  // s_t for every t of the chunk (uninitialised)
    const float* alpha = weights_.alpha.data();
    for (samba::index_t t = 0; t < T; ++t)
      for (samba::index_t i = 0; i < d; ++i) {
        state.s[i] = alpha[i] * x(t, i) + (1.0f - alpha[i]) * state.s[i];
        mixed[t * d + i] = state.s[i];
      }
    // y = S · W_oᵀ through Eigen, on the views' memory (no copies).
    samba::as_eigen(y).noalias() = samba::as_eigen(std::as_const(mixed).view<2>({T, d})) *
                                   samba::as_eigen(weights_.wo.view<2>()).transpose();
  }

 private:
  Config config_;
  Weights weights_;
};

static_assert(samba::Layer<EmaMixer>);

// A custom hybrid: [EMA, MLP, SWA], repeated.
using EmaBlock = samba::PreNorm<EmaMixer>;
using MlpBlock = samba::PreNorm<samba::SwiGLU<>>;
using SwaBlock = samba::PreNorm<samba::SlidingWindowAttention<>>;
using Stack = samba::HybridStack<EmaBlock, MlpBlock, SwaBlock>;
static_assert(samba::Layer<Stack>);

}  // namespace mylib

namespace {

// Runs T tokens through `stack` whole, then again as chunks of a prompt followed by one token at a
// time, and checks that both agree. Returns false on a mismatch.
bool run(const char* name, const mylib::Stack& stack) {
  using samba::index_t;
  const index_t d = stack.d_model(), prompt = 37, T = prompt + 11, chunk = 16;
  samba::HostBuffer<float> x(T * d), whole(T * d), streamed(T * d);
  samba::Random rng(42);
  for (auto& v : x) v = rng.normal();
  const auto xv = std::as_const(x).view<2>({T, d});

  auto state = stack.make_state();
  stack.forward(state, xv, whole.view<2>({T, d}));

  auto stream = stack.make_state();
  const auto out = streamed.view<2>({T, d});
  for (index_t t = 0; t < prompt; t += chunk) {
    const index_t n = std::min(chunk, prompt - t);
    stack.forward(stream, xv.slice(t, n), out.slice(t, n));
  }
  const std::size_t prompt_bytes = stream.bytes();
  for (index_t t = prompt; t < T; ++t) stack.forward(stream, xv.slice(t, 1), out.slice(t, 1));

  double diff = 0.0, norm = 0.0;
  for (index_t i = 0; i < T * d; ++i) {
    const double e = double(streamed[i]) - double(whole[i]);
    diff += e * e;
    norm += double(whole[i]) * double(whole[i]);
  }
  const double rel = std::sqrt(diff / norm);
  std::printf(
      "%s: %td blocks, output norm %.4f, state %zu bytes after the prompt, %zu after %td "
      "tokens; streamed vs whole: relative error %.2e\n",
      name, stack.n_blocks(), std::sqrt(norm), prompt_bytes, stream.bytes(), T, rel);
  return rel <= 1e-5;
}

}  // namespace

int main() {
  using samba::index_t;
  const index_t d = 32, n_blocks = 7;  // 7 = [EMA, MLP, SWA] × 2 + one EMA block

  // 1. A config by hand (one config per pattern slot) and random weights from a seed.
  samba::AttentionConfig attention;
  attention.d_model = d;
  attention.n_heads = 4;
  attention.n_kv_heads = 2;
  attention.window = 16;
  const mylib::Stack::Config config{
      n_blocks,
      {mylib::EmaBlock::Config{{d}}, mylib::MlpBlock::Config{{d, 4 * d}},
       mylib::SwaBlock::Config{attention}}};
  const auto random = mylib::Stack::random(config, /*seed=*/7);

  // 2. Block by block: build(n, make) calls make(std::type_identity<Block>{}, b) for b = 0 … n − 1.
  //    Here the EMA blocks get hand-made weights (an α that slows down with depth) and an identity
  //    norm; the other blocks are random.
  const auto built = mylib::Stack::build(n_blocks, [&](auto type, index_t b) {
    using Block = typename decltype(type)::type;
    samba::Random rng(100 + static_cast<std::uint64_t>(b));
    if constexpr (std::is_same_v<Block, mylib::EmaBlock>) {
      samba::HostBuffer<float> alpha(d);
      for (auto& a : alpha) a = 1.0f / static_cast<float>(2 + b);
      const auto donor =
          mylib::EmaMixer::random({d}, rng);  // for a random W_o (shared, not copied)
      const samba::RMSNormConfig norm{d};
      return Block(
          samba::RMSNorm<>(norm, samba::RMSNormWeights::ones(norm)),
          mylib::EmaMixer({d}, {samba::Tensor<float>({d}, std::move(alpha)), donor.weights().wo}));
    } else {
      // Each slot's Config is a distinct type, so std::get by type picks this block's config.
      return Block::random(std::get<typename Block::Config>(config.blocks), rng);
    }
  });

  const bool ok_random = run("random", random);
  const bool ok_built = run("built", built);
  const bool ok = ok_random && ok_built;
  if (!ok) std::fprintf(stderr, "chunked and whole runs disagree\n");
  return ok ? 0 : 1;
}

// RGLRULayer: Griffin's recurrent block (De et al. 2024, "Griffin: Mixing Gated Linear Recurrences
// with Local Attention"), as Hugging Face's RecurrentGemmaRecurrentBlock computes it.
//
// For each token x_t at absolute position p, with lru_width w and H gate blocks of bw = w / H:
//
//   y_t   = gelu_tanh(W_y x_t + b_y)                                   the gate branch
//   u_t   = conv_b + Σ_k conv_w[:, k] ⊙ (W_x x)_{t−(K−1)+k} + …     causal depthwise conv (with
//           its bias, no activation) over W_x x_t + b_x
//   i_t   = σ(u_t[h] · Wi[h] + bi[h]),  r_t = σ(u_t[h] · Wr[h] + br[h])   per block h (bw × bw)
//   log a_t = −c · r_t ⊙ softplus(Λ),   a_t = exp(log a_t)              c = 8
//   m_t   = √(1 − a_t²), but 1 at p = 0;   a_t = 0 at p = 0                (the reset)
//   h_t   = a_t ⊙ h_{t−1} + m_t ⊙ i_t ⊙ u_t                             the RG-LRU, a diagonal scan
//   out_t = W_out (h_t ⊙ y_t) + b_out
//
// The projections have biases (nn.Linear's default, which RecurrentGemma keeps); W_y and W_x read
// the same x, so they are one matrix in_proj (rows y, then x) with one bias. The per-sequence State
// holds the conv's last K − 1 inputs, h (f32) and the position: its size does not depend on the
// sequence length. in_proj and out_proj are stored as W; the conv, the gates and Λ are f32.
#pragma once

#include <cmath>
#include <span>

#include "samba/core/backend.hpp"
#include "samba/core/concepts.hpp"
#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"
#include "samba/layers/common.hpp"
#include "samba/layers/linear_init.hpp"

namespace samba {

struct RGLRUConfig {
  index_t d_model = 0;
  index_t lru_width = 0;  // 0: d_model
  index_t n_heads = 1;    // gate blocks (RecurrentGemma's num_attention_heads)
  index_t conv_width = 4;
  float c = 8.0f;  // a_t = σ(Λ)^(c·r_t), written as exp(−c · r_t · softplus(Λ))

  index_t width() const { return lru_width > 0 ? lru_width : d_model; }
  index_t block_width() const { return n_heads > 0 ? width() / n_heads : 0; }

  void validate() const {
    constexpr std::string_view L = "RGLRULayer";
    detail::check_positive(L, "d_model", d_model);
    detail::check(lru_width >= 0, L, ": lru_width must be > 0 (or 0 for d_model), got ", lru_width);
    detail::check_positive(L, "n_heads", n_heads);
    detail::check(width() % n_heads == 0, L, ": lru_width (", width(),
                  ") is not a multiple of n_heads (", n_heads, ")");
    detail::check_positive(L, "conv_width", conv_width);
    detail::check(c > 0.0f, L, ": c must be > 0, got ", c);
  }
};

template <StorageType W = float>
struct RGLRUWeights {
  Tensor<W> in_proj;                  // [2w, d_model]: W_y, then W_x
  Tensor<float> in_bias;              // [2w]: b_y, then b_x
  Tensor<float> conv_weight;          // [w, conv_width]
  Tensor<float> conv_bias;            // [w]
  Tensor<float> input_gate;           // [H, bw, bw]: Wi (u · Wi)
  Tensor<float> input_gate_bias;      // [H, bw]
  Tensor<float> recurrent_gate;       // [H, bw, bw]: Wr
  Tensor<float> recurrent_gate_bias;  // [H, bw]
  Tensor<float> recurrent_param;      // [w]: Λ
  Tensor<W> out_proj;                 // [d_model, w]
  Tensor<float> out_bias;             // [d_model]

  // nn.Linear's initialisation for the projections and gates; Λ as RecurrentGemma initialises it
  // (a^c between 0.9² and 0.999² at r = 1).
  static RGLRUWeights random(const RGLRUConfig& c, Random& rng) {
    const index_t w = c.width(), d = c.d_model, H = c.n_heads, bw = c.block_width();
    RGLRUWeights out;
    out.in_proj = detail::random_matrix<W>(2 * w, d, rng);
    const float bd = 1.0f / std::sqrt(static_cast<float>(d));
    out.in_bias = detail::random_uniform(Shape{2 * w}, -bd, bd, rng);
    const float bk = 1.0f / std::sqrt(static_cast<float>(c.conv_width));
    out.conv_weight = detail::random_uniform(Shape{w, c.conv_width}, -bk, bk, rng);
    out.conv_bias = detail::random_uniform(Shape{w}, -bk, bk, rng);
    const float bb = 1.0f / std::sqrt(static_cast<float>(bw));
    out.input_gate = detail::random_uniform(Shape{H, bw, bw}, -bb, bb, rng);
    out.input_gate_bias = detail::random_uniform(Shape{H, bw}, -bb, bb, rng);
    out.recurrent_gate = detail::random_uniform(Shape{H, bw, bw}, -bb, bb, rng);
    out.recurrent_gate_bias = detail::random_uniform(Shape{H, bw}, -bb, bb, rng);
    HostBuffer<float> lambda(w);
    for (auto& v : lambda) {
      const double u = rng.uniform(0.81f, 0.998f);
      v = static_cast<float>(std::log(std::expm1(-0.5 * std::log(u))));  // softplus⁻¹(−½ log u)
    }
    out.recurrent_param = Tensor<float>(Shape{w}, std::move(lambda));
    out.out_proj = detail::random_matrix<W>(d, w, rng);
    const float bo = 1.0f / std::sqrt(static_cast<float>(w));
    out.out_bias = detail::random_uniform(Shape{d}, -bo, bo, rng);
    return out;
  }

  template <StorageType U>
  RGLRUWeights<U> to() const {
    return {in_proj.template to<U>(),
            in_bias,
            conv_weight,
            conv_bias,
            input_gate,
            input_gate_bias,
            recurrent_gate,
            recurrent_gate_bias,
            recurrent_param,
            out_proj.template to<U>(),
            out_bias};
  }
};

// The primitives a backend supplies for RGLRULayer (cpu/rglru.hpp, cuda/rglru.cuh):
//   check(layer, x, y)                         refuses what the backend cannot run
//   linear(layer, x, &RGLRUWeights<W>::w, &RGLRUWeights<W>::bias, y)   y = x · wᵀ + bias
//   conv(layer, states, lengths, u, out)       the causal conv with bias, no activation, each
//                                              sequence from its state's last inputs (advanced)
//   rg_lru(layer, states, lengths, u, h)       the gates and the recurrence from each sequence's
//                                              state (h advanced; positions read, not advanced)
//   gate(layer, y, h)                          h ⊙= gelu_tanh(y), in place
template <class B, StorageType W>
struct RGLRUKernel {
  static_assert(detail::dependent_false<B>,
                "RGLRULayer: no kernel for this backend (include samba/samba.hpp for samba::cpu, "
                "samba/cuda.cuh for samba::cuda)");
};

// Whether backend B has an RGLRUKernel (cpu/rglru.hpp and cuda/rglru.cuh set it).
template <class B>
inline constexpr bool has_rglru_kernel = false;

template <class B = cpu, StorageType W = float>
class RGLRULayer {
 public:
  using backend_type = B;
  using weight_type = W;
  using Config = RGLRUConfig;
  using Weights = RGLRUWeights<W>;
  using Resident = detail::resident_t<B, RGLRUKernel<B, W>>;

  struct State {
    index_t width = 0, conv_width = 0;
    typename B::template buffer<float> conv;  // [conv_width − 1, w]: last inputs, oldest first
    typename B::template buffer<float> h;     // [w]
    index_t position = 0;                     // tokens seen (the reset is at position 0)
    std::size_t bytes() const { return conv.bytes() + h.bytes(); }
  };

  RGLRULayer(const Config& config, Weights weights)
      : config_(config), weights_(std::move(weights)) {
    config_.validate();
    constexpr std::string_view L = "RGLRULayer";
    const index_t w = config_.width(), d = config_.d_model, H = config_.n_heads,
                  bw = config_.block_width();
    check_shape(weights_.in_proj, L, "in_proj", {2 * w, d});
    check_shape(weights_.in_bias, L, "in_bias", {2 * w});
    check_shape(weights_.conv_weight, L, "conv_weight", {w, config_.conv_width});
    check_shape(weights_.conv_bias, L, "conv_bias", {w});
    check_shape(weights_.input_gate, L, "input_gate", {H, bw, bw});
    check_shape(weights_.input_gate_bias, L, "input_gate_bias", {H, bw});
    check_shape(weights_.recurrent_gate, L, "recurrent_gate", {H, bw, bw});
    check_shape(weights_.recurrent_gate_bias, L, "recurrent_gate_bias", {H, bw});
    check_shape(weights_.recurrent_param, L, "recurrent_param", {w});
    check_shape(weights_.out_proj, L, "out_proj", {d, w});
    check_shape(weights_.out_bias, L, "out_bias", {d});
    resident_ = detail::make_resident<Resident>(*this);
  }

  static RGLRULayer random(const Config& config, Random& rng) {
    config.validate();
    return RGLRULayer(config, Weights::random(config, rng));
  }

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  const Resident& resident() const { return resident_; }
  std::size_t parameter_count() const {
    const auto& w = weights_;
    return static_cast<std::size_t>(w.in_proj.numel() + w.in_bias.numel() + w.conv_weight.numel() +
                                    w.conv_bias.numel() + w.input_gate.numel() +
                                    w.input_gate_bias.numel() + w.recurrent_gate.numel() +
                                    w.recurrent_gate_bias.numel() + w.recurrent_param.numel() +
                                    w.out_proj.numel() + w.out_bias.numel());
  }
  index_t d_model() const { return config_.d_model; }

  State make_state() const {
    const index_t w = config_.width(), k = config_.conv_width;
    return State{w, k, typename B::template buffer<float>((k - 1) * w),
                 typename B::template buffer<float>(w), 0};
  }

  void forward(State& state, ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::forward_one(*this, state, x, y);
  }

  // A ragged batch: sequence s owns the next lengths[s] rows of x and y. The steps are the
  // equations at the top of this file; the backend's RGLRUKernel supplies each of them.
  void forward_batch(std::span<State* const> states, std::span<const index_t> lengths,
                     ConstMatrixView<float> x, MatrixView<float> y) const {
    using K = RGLRUKernel<B, W>;
    detail::check_activations("RGLRULayer", x, d_model(), y, d_model());
    detail::check_batch("RGLRULayer", states, lengths, x.rows());
    for (State* s : states) check_state(*s);
    K::check(*this, x, y);
    const index_t T = x.rows();
    if (T == 0) return;
    const index_t w = config_.width();
    // Scratch, in the order of use: (y, x) projected; the conv's output; h, gated in place.
    auto proj = detail::scratch<float, B>(T * 2 * w);
    auto u = detail::scratch<float, B>(T * w);
    auto h = detail::scratch<float, B>(T * w);
    const ConstMatrixView<float> y_branch(proj.data(), {T, w}, {2 * w, 1});
    const ConstMatrixView<float> x_branch(proj.data() + w, {T, w}, {2 * w, 1});
    const MatrixView<float> u_v = u.template view<2>({T, w});
    const MatrixView<float> h_v = h.template view<2>({T, w});

    K::linear(*this, x, &Weights::in_proj, &Weights::in_bias, proj.template view<2>({T, 2 * w}));
    K::conv(*this, states, lengths, x_branch, u_v);
    K::rg_lru(*this, states, lengths, u_v, h_v);
    K::gate(*this, y_branch, h_v);
    K::linear(*this, h_v, &Weights::out_proj, &Weights::out_bias, y);
    for (std::size_t s = 0; s < states.size(); ++s) states[s]->position += lengths[s];
  }

  void check_state(const State& s) const {
    const index_t w = config_.width(), k = config_.conv_width;
    detail::check(
        s.width == w && s.conv_width == k && s.conv.size() == (k - 1) * w && s.h.size() == w,
        "RGLRULayer: state of a layer with lru_width ", s.width, " and conv_width ", s.conv_width,
        " used with a layer with ", w, " and ", k);
  }

 private:
  Config config_;
  Weights weights_;
  Resident resident_;
};

}  // namespace samba

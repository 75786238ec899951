// GatedLinearAttention: the GLA mixer (Yang et al. 2023, "Gated Linear Attention Transformers
// with Hardware-Efficient Training"), as flash-linear-attention's GatedLinearAttention layer
// (fla/layers/gla.py) computes it.
//
// For each token x_t ∈ R^d_model, with H heads, key width K = key_dim / H and value width
// V = value_dim / H per head, and H_kv key/value heads (head h reads kv head h / (H / H_kv)):
//
//   q_t, k_t, v_t  = q_proj x_t, k_proj x_t, v_proj x_t         (short conv + SiLU on each when
//                                                                conv_size > 0)
//   α_t            = logsigmoid(gk_up · (gk_down x_t) + gk_bias) / gate_logit_normalizer
//                    (then max(α_t, clamp_min))                α ∈ R^{H_kv·K}, one per key channel
//   S_t[h]         = diag(exp(α_t[h])) · S_{t−1}[h] + k_t[h] · v_t[h]ᵀ          S[h] ∈ R^{K×V}
//   o_t[h]         = S_t[h]ᵀ · (q_t[h] / √K)
//   out_t          = o_proj · (RMSNorm_V(o_t[h]) ⊙ norm_weight ⊙ swish(g_proj x_t))   per head;
//                    without the output gate, o_proj · (RMSNorm_V(o_t[h]) ⊙ norm_weight)
//
// The recurrence is cpu/linear_recurrence.hpp's with a per-key-channel decay. The projections
// q, k, v, g and gk_down read the same x: they are one matrix, in_proj, whose rows are q, then k,
// v, g (absent without the output gate) and gk_down. The three short convolutions are depthwise,
// so they are one conv over the q | k | v columns.
//
// The per-sequence State holds the short conv's last conv_size − 1 inputs (none without it) and
// the f32 state S, [H, K, V]: its size does not depend on the sequence length. Projections are
// stored as W; the conv, gk_bias and the norm weight are f32.
#pragma once

#include <cmath>
#include <limits>
#include <span>

#include "samba/core/backend.hpp"
#include "samba/core/concepts.hpp"
#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"
#include "samba/layers/common.hpp"
#include "samba/layers/linear_init.hpp"

namespace samba {

struct GLAConfig {
  index_t d_model = 0;
  index_t n_heads = 4;
  index_t n_kv_heads = 0;  // 0: n_heads
  index_t key_dim = 0;     // all heads; 0: d_model / 2 (fla's expand_k 0.5)
  index_t value_dim = 0;   // all heads; 0: d_model (expand_v 1)
  index_t gate_rank = 16;  // gate_low_rank_dim
  float gate_logit_normalizer = 16.0f;
  float clamp_min = -std::numeric_limits<float>::infinity();  // none
  bool output_gate = true;
  index_t conv_size = 0;  // short convolution's kernel; 0: none
  float norm_eps = 1e-5f;

  index_t resolved_n_kv_heads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
  index_t resolved_key_dim() const { return key_dim > 0 ? key_dim : d_model / 2; }
  index_t resolved_value_dim() const { return value_dim > 0 ? value_dim : d_model; }
  index_t head_k_dim() const { return n_heads > 0 ? resolved_key_dim() / n_heads : 0; }
  index_t head_v_dim() const { return n_heads > 0 ? resolved_value_dim() / n_heads : 0; }
  index_t kv_key_dim() const { return resolved_n_kv_heads() * head_k_dim(); }    // k, α columns
  index_t kv_value_dim() const { return resolved_n_kv_heads() * head_v_dim(); }  // v columns
  // The short conv's channels: q | k | v.
  index_t qkv_dim() const { return resolved_key_dim() + kv_key_dim() + kv_value_dim(); }
  // in_proj's rows: q, k, v, g (with the output gate), gk_down.
  index_t proj_dim() const {
    return qkv_dim() + (output_gate ? resolved_value_dim() : 0) + gate_rank;
  }

  void validate() const {
    constexpr std::string_view L = "GatedLinearAttention";
    detail::check_positive(L, "d_model", d_model);
    detail::check_positive(L, "n_heads", n_heads);
    detail::check(n_kv_heads >= 0 && n_heads % resolved_n_kv_heads() == 0, L, ": n_kv_heads (",
                  n_kv_heads, ") does not divide n_heads (", n_heads, ")");
    detail::check(key_dim >= 0 && value_dim >= 0, L, ": key_dim and value_dim must be >= 0");
    detail::check(resolved_key_dim() > 0 && resolved_key_dim() % n_heads == 0, L, ": key_dim (",
                  resolved_key_dim(), ") is not a positive multiple of n_heads (", n_heads, ")");
    detail::check(resolved_value_dim() > 0 && resolved_value_dim() % n_heads == 0, L,
                  ": value_dim (", resolved_value_dim(),
                  ") is not a positive multiple of n_heads (", n_heads, ")");
    detail::check_positive(L, "gate_rank", gate_rank);
    detail::check(gate_logit_normalizer > 0.0f, L, ": gate_logit_normalizer must be > 0, got ",
                  gate_logit_normalizer);
    detail::check(!std::isnan(clamp_min) && clamp_min <= 0.0f, L,
                  ": clamp_min must be <= 0 (a log decay), got ", clamp_min);
    detail::check(conv_size >= 0, L, ": conv_size must be >= 0, got ", conv_size);
    detail::check(norm_eps > 0.0f, L, ": norm_eps must be > 0, got ", norm_eps);
  }
};

template <StorageType W = float>
struct GLAWeights {
  Tensor<W> in_proj;          // [proj_dim, d_model]: q, k, v, g, gk_down
  Tensor<W> gk_up;            // [kv_key_dim, gate_rank]
  Tensor<float> gk_bias;      // [kv_key_dim]
  Tensor<float> conv_weight;  // [qkv_dim, conv_size] (empty without the short conv)
  Tensor<float> conv_bias;    // [qkv_dim] (zeros for a conv without bias; empty without it)
  Tensor<float> norm_weight;  // [head_v_dim]
  Tensor<W> o_proj;           // [d_model, value_dim]

  // nn.Linear's initialisation for the projections; the gate's bias drawn so that the decays
  // spread (exp(α) from about 0.9 to 0.999); the norm weight 1 + 0.1·N(0, 1).
  static GLAWeights random(const GLAConfig& c, Random& rng) {
    GLAWeights w;
    w.in_proj = detail::random_matrix<W>(c.proj_dim(), c.d_model, rng);
    w.gk_up = detail::random_matrix<W>(c.kv_key_dim(), c.gate_rank, rng);
    w.gk_bias = detail::random_uniform(Shape{c.kv_key_dim()}, -1.0f, 3.0f, rng);
    if (c.conv_size > 0) {
      const float bound = 1.0f / std::sqrt(static_cast<float>(c.conv_size));
      w.conv_weight = detail::random_uniform(Shape{c.qkv_dim(), c.conv_size}, -bound, bound, rng);
      w.conv_bias = detail::random_uniform(Shape{c.qkv_dim()}, -bound, bound, rng);
    }
    HostBuffer<float> norm(c.head_v_dim());
    for (auto& v : norm) v = 1.0f + 0.1f * rng.normal();
    w.norm_weight = Tensor<float>(Shape{c.head_v_dim()}, std::move(norm));
    w.o_proj = detail::random_matrix<W>(c.d_model, c.resolved_value_dim(), rng);
    return w;
  }

  template <StorageType U>
  GLAWeights<U> to() const {
    return {in_proj.template to<U>(),
            gk_up.template to<U>(),
            gk_bias,
            conv_weight,
            conv_bias,
            norm_weight,
            o_proj.template to<U>()};
  }
};

// The primitives a backend supplies for GatedLinearAttention (cpu/gla.hpp). The layer's
// forward_batch owns the steps and their scratch:
//   check(layer, x, y)            refuses what the backend cannot run
//   linear(layer, x, &GLAWeights<W>::w, y)   y = x · wᵀ
//   conv_silu(layer, states, lengths, qkv, out)
//                                 out = silu(conv_bias + causal depthwise conv of qkv), each
//                                 sequence continuing from its state's last inputs (advanced)
//   recurrence(layer, states, lengths, qkv, gate, o)
//                                 α = logsigmoid(gate + gk_bias) / normaliser (clamped), then
//                                 each sequence's recurrence from its state (advanced) on q / √K,
//                                 k and v (columns of qkv): o [T, value_dim]
//   norm_gate(layer, g, o)        o = RMSNorm per head (⊙ norm_weight) ⊙ swish(g), in place;
//                                 g empty (0 columns): no output gate
template <class B, StorageType W>
struct GLAKernel {
  static_assert(detail::dependent_false<B>,
                "GatedLinearAttention: no kernel for this backend (include samba/samba.hpp for "
                "samba::cpu; samba::cuda has none yet)");
};

// Whether backend B has a GLAKernel (cpu/gla.hpp sets it for samba::cpu).
template <class B>
inline constexpr bool has_gla_kernel = false;

template <class B = cpu, StorageType W = float>
class GatedLinearAttention {
 public:
  using backend_type = B;
  using weight_type = W;
  using Config = GLAConfig;
  using Weights = GLAWeights<W>;
  using Resident = detail::resident_t<B, GLAKernel<B, W>>;

  // Per-sequence state: constant size, whatever the sequence length.
  struct State {
    index_t qkv_dim = 0, conv_size = 0, ssm_size = 0;
    typename B::template buffer<float> conv;  // [conv_size − 1, qkv_dim]: last inputs, oldest first
    typename B::template buffer<float> ssm;  // [H, K, V]: S
    std::size_t bytes() const { return conv.bytes() + ssm.bytes(); }
  };

  GatedLinearAttention(const Config& config, Weights weights)
      : config_(config), weights_(std::move(weights)) {
    config_.validate();
    constexpr std::string_view L = "GatedLinearAttention";
    const Config& c = config_;
    check_shape(weights_.in_proj, L, "in_proj", {c.proj_dim(), c.d_model});
    check_shape(weights_.gk_up, L, "gk_up", {c.kv_key_dim(), c.gate_rank});
    check_shape(weights_.gk_bias, L, "gk_bias", {c.kv_key_dim()});
    if (c.conv_size > 0) {
      check_shape(weights_.conv_weight, L, "conv_weight", {c.qkv_dim(), c.conv_size});
      check_shape(weights_.conv_bias, L, "conv_bias", {c.qkv_dim()});
    } else {
      detail::check(weights_.conv_weight.empty() && weights_.conv_bias.empty(), L,
                    ": conv weights given to a layer without a short convolution (conv_size 0)");
    }
    check_shape(weights_.norm_weight, L, "norm_weight", {c.head_v_dim()});
    check_shape(weights_.o_proj, L, "o_proj", {c.d_model, c.resolved_value_dim()});
    resident_ = detail::make_resident<Resident>(*this);
  }

  static GatedLinearAttention random(const Config& config, Random& rng) {
    config.validate();
    return GatedLinearAttention(config, Weights::random(config, rng));
  }

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  const Resident& resident() const { return resident_; }
  std::size_t parameter_count() const {
    const auto& w = weights_;
    return static_cast<std::size_t>(w.in_proj.numel() + w.gk_up.numel() + w.gk_bias.numel() +
                                    w.conv_weight.numel() + w.conv_bias.numel() +
                                    w.norm_weight.numel() + w.o_proj.numel());
  }
  index_t d_model() const { return config_.d_model; }
  index_t ssm_size() const { return config_.n_heads * config_.head_k_dim() * config_.head_v_dim(); }

  State make_state() const {
    const index_t cd = config_.qkv_dim(), k = config_.conv_size;
    return State{cd, k, ssm_size(), typename B::template buffer<float>(k > 0 ? (k - 1) * cd : 0),
                 typename B::template buffer<float>(ssm_size())};
  }

  void forward(State& state, ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::forward_one(*this, state, x, y);
  }

  // A ragged batch: sequence s owns the next lengths[s] rows of x and y. The steps are the
  // equations at the top of this file; the backend's GLAKernel supplies each of them.
  void forward_batch(std::span<State* const> states, std::span<const index_t> lengths,
                     ConstMatrixView<float> x, MatrixView<float> y) const {
    using K = GLAKernel<B, W>;
    detail::check_activations("GatedLinearAttention", x, d_model(), y, d_model());
    detail::check_batch("GatedLinearAttention", states, lengths, x.rows());
    for (State* s : states) check_state(*s);
    K::check(*this, x, y);
    const index_t T = x.rows();
    if (T == 0) return;
    const Config& c = config_;
    const index_t pd = c.proj_dim(), qkv = c.qkv_dim(), vd = c.resolved_value_dim();
    const index_t gate = c.output_gate ? vd : 0, kvk = c.kv_key_dim();
    // Scratch, in the order of use: (q, k, v, g, gk_down); the conv's output; the gate logits;
    // the recurrence's output, normed and gated in place.
    auto proj = detail::scratch<float, B>(T * pd);
    auto conv = detail::scratch<float, B>(c.conv_size > 0 ? T * qkv : 0);
    auto logits = detail::scratch<float, B>(T * kvk);
    auto out = detail::scratch<float, B>(T * vd);
    const ConstMatrixView<float> qkv_raw(proj.data(), {T, qkv}, {pd, 1});
    const ConstMatrixView<float> g(proj.data() + qkv, {T, gate}, {pd, 1});
    const ConstMatrixView<float> low(proj.data() + qkv + gate, {T, c.gate_rank}, {pd, 1});
    const MatrixView<float> logits_v = logits.template view<2>({T, kvk});
    const MatrixView<float> out_v = out.template view<2>({T, vd});

    K::linear(*this, x, &Weights::in_proj, proj.template view<2>({T, pd}));
    ConstMatrixView<float> qkv_in = qkv_raw;
    if (c.conv_size > 0) {
      K::conv_silu(*this, states, lengths, qkv_raw, conv.template view<2>({T, qkv}));
      qkv_in = conv.template view<2>({T, qkv});
    }
    K::linear(*this, low, &Weights::gk_up, logits_v);
    K::recurrence(*this, states, lengths, qkv_in, logits_v, out_v);
    K::norm_gate(*this, g, out_v);
    K::linear(*this, out_v, &Weights::o_proj, y);
  }

  void check_state(const State& s) const {
    const index_t k = config_.conv_size, cd = config_.qkv_dim();
    detail::check(s.qkv_dim == cd && s.conv_size == k && s.ssm_size == ssm_size() &&
                      s.conv.size() == (k > 0 ? (k - 1) * cd : 0) && s.ssm.size() == ssm_size(),
                  "GatedLinearAttention: state of a layer with ", s.qkv_dim,
                  " conv channels, conv_size ", s.conv_size, " and ", s.ssm_size,
                  " state values used with a layer with ", cd, ", ", k, " and ", ssm_size());
  }

 private:
  Config config_;
  Weights weights_;
  Resident resident_;
};

}  // namespace samba

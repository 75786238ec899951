// MultiScaleRetention: RetNet's mixer (Sun et al. 2023, "Retentive Network: A Successor to
// Transformer for Large Language Models"), as flash-linear-attention's MultiScaleRetention layer
// (fla/layers/multiscale_retention.py) computes it.
//
// For each token x_t at absolute position t, with H heads, key width K = key_dim / H and value
// width V = value_dim / H per head, and H_kv key/value heads (head h reads kv head h / (H / H_kv)):
//
//   q_t, k_t, v_t  = q_proj x_t, k_proj x_t, v_proj x_t       (short conv + SiLU on each when
//                                                              conv_size > 0)
//   q_t, k_t       ← rotate-half RoPE over each head's K dims at position t (base rope_base)
//   S_t[h]         = γ_h · S_{t−1}[h] + k_t[h] · v_t[h]ᵀ,   γ_h = 1 − 2^(−5−h)   (fixed decays)
//   o_t[h]         = S_t[h]ᵀ · (q_t[h] / √K)
//   out_t          = o_proj · (RMSNorm_V(o_t[h]) ⊙ norm_weight ⊙ swish(g_proj x_t))   per head;
//                    without the output gate, o_proj · (RMSNorm_V(o_t[h]) ⊙ norm_weight)
//
// The same layer as GatedLinearAttention (layers/gla.hpp) but for the decay, which is fixed per
// head, and the RoPE: the recurrence is cpu/linear_recurrence.hpp's with a per-head decay. in_proj
// holds q, k, v and g (absent without the output gate) as rows.
//
// The per-sequence State holds the short conv's last conv_size − 1 inputs, the f32 state S
// [H, K, V] and the position (for RoPE): its size does not depend on the sequence length.
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

struct RetentionConfig {
  index_t d_model = 0;
  index_t n_heads = 8;
  index_t n_kv_heads = 0;  // 0: n_heads
  index_t key_dim = 0;     // all heads; 0: d_model (fla's expand_k 1)
  index_t value_dim = 0;   // all heads; 0: 2 · d_model (expand_v 2)
  bool output_gate = true;
  index_t conv_size = 0;  // short convolution's kernel; 0: none
  double rope_base = 10000.0;
  float norm_eps = 1e-5f;

  index_t resolved_n_kv_heads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
  index_t resolved_key_dim() const { return key_dim > 0 ? key_dim : d_model; }
  index_t resolved_value_dim() const { return value_dim > 0 ? value_dim : 2 * d_model; }
  index_t head_k_dim() const { return n_heads > 0 ? resolved_key_dim() / n_heads : 0; }
  index_t head_v_dim() const { return n_heads > 0 ? resolved_value_dim() / n_heads : 0; }
  index_t kv_key_dim() const { return resolved_n_kv_heads() * head_k_dim(); }
  index_t kv_value_dim() const { return resolved_n_kv_heads() * head_v_dim(); }
  index_t qkv_dim() const { return resolved_key_dim() + kv_key_dim() + kv_value_dim(); }
  // in_proj's rows: q, k, v, g (with the output gate).
  index_t proj_dim() const { return qkv_dim() + (output_gate ? resolved_value_dim() : 0); }
  // log γ_h = log(1 − 2^(−5−h)).
  static double log_decay(index_t h) {
    return std::log1p(-std::exp2(-5.0 - static_cast<double>(h)));
  }

  void validate() const {
    constexpr std::string_view L = "MultiScaleRetention";
    detail::check_positive(L, "d_model", d_model);
    detail::check_positive(L, "n_heads", n_heads);
    detail::check(n_kv_heads >= 0 && n_heads % resolved_n_kv_heads() == 0, L, ": n_kv_heads (",
                  n_kv_heads, ") does not divide n_heads (", n_heads, ")");
    detail::check(key_dim >= 0 && value_dim >= 0, L, ": key_dim and value_dim must be >= 0");
    detail::check(resolved_key_dim() > 0 && resolved_key_dim() % n_heads == 0, L, ": key_dim (",
                  resolved_key_dim(), ") is not a positive multiple of n_heads (", n_heads, ")");
    detail::check(head_k_dim() % 2 == 0, L, ": the heads' key width (", head_k_dim(),
                  ") must be even (RoPE turns pairs of dims)");
    detail::check(resolved_value_dim() > 0 && resolved_value_dim() % n_heads == 0, L,
                  ": value_dim (", resolved_value_dim(),
                  ") is not a positive multiple of n_heads (", n_heads, ")");
    detail::check(conv_size >= 0, L, ": conv_size must be >= 0, got ", conv_size);
    detail::check(rope_base > 0.0, L, ": rope_base must be > 0, got ", rope_base);
    detail::check(norm_eps > 0.0f, L, ": norm_eps must be > 0, got ", norm_eps);
  }
};

template <StorageType W = float>
struct RetentionWeights {
  Tensor<W> in_proj;          // [proj_dim, d_model]: q, k, v, g
  Tensor<float> conv_weight;  // [qkv_dim, conv_size] (empty without the short conv)
  Tensor<float> conv_bias;    // [qkv_dim] (zeros for a conv without bias; empty without it)
  Tensor<float> norm_weight;  // [head_v_dim]
  Tensor<W> o_proj;           // [d_model, value_dim]

  static RetentionWeights random(const RetentionConfig& c, Random& rng) {
    RetentionWeights w;
    w.in_proj = detail::random_matrix<W>(c.proj_dim(), c.d_model, rng);
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
  RetentionWeights<U> to() const {
    return {in_proj.template to<U>(), conv_weight, conv_bias, norm_weight, o_proj.template to<U>()};
  }
};

// The primitives a backend supplies for MultiScaleRetention (cpu/retention.hpp):
//   check(layer, x, y)            refuses what the backend cannot run
//   linear(layer, x, &RetentionWeights<W>::w, y)   y = x · wᵀ
//   conv_silu(layer, states, lengths, qkv, out)    as GatedLinearAttention's
//   rope(layer, states, lengths, qkv)
//                                 RoPE on the q and k columns of qkv in place, each sequence's
//                                 rows from its state's position (not advanced)
//   recurrence(layer, states, lengths, qkv, o)
//                                 each sequence's recurrence from its state's S (advanced) on
//                                 q / √K, k and v: o [T, value_dim]
//   norm_gate(layer, g, o)        as GatedLinearAttention's
template <class B, StorageType W>
struct RetentionKernel {
  static_assert(detail::dependent_false<B>,
                "MultiScaleRetention: no kernel for this backend (include samba/samba.hpp for "
                "samba::cpu; samba::cuda has none yet)");
};

// Whether backend B has a RetentionKernel (cpu/retention.hpp sets it for samba::cpu).
template <class B>
inline constexpr bool has_retention_kernel = false;

template <class B = cpu, StorageType W = float>
class MultiScaleRetention {
 public:
  using backend_type = B;
  using weight_type = W;
  using Config = RetentionConfig;
  using Weights = RetentionWeights<W>;
  using Resident = detail::resident_t<B, RetentionKernel<B, W>>;

  struct State {
    index_t qkv_dim = 0, conv_size = 0, ssm_size = 0;
    typename B::template buffer<float> conv;  // [conv_size − 1, qkv_dim]: last inputs, oldest first
    typename B::template buffer<float> ssm;  // [H, K, V]: S
    index_t position = 0;                    // tokens seen (RoPE)
    std::size_t bytes() const { return conv.bytes() + ssm.bytes(); }
  };

  MultiScaleRetention(const Config& config, Weights weights)
      : config_(config), weights_(std::move(weights)) {
    config_.validate();
    constexpr std::string_view L = "MultiScaleRetention";
    const Config& c = config_;
    check_shape(weights_.in_proj, L, "in_proj", {c.proj_dim(), c.d_model});
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

  static MultiScaleRetention random(const Config& config, Random& rng) {
    config.validate();
    return MultiScaleRetention(config, Weights::random(config, rng));
  }

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  const Resident& resident() const { return resident_; }
  std::size_t parameter_count() const {
    const auto& w = weights_;
    return static_cast<std::size_t>(w.in_proj.numel() + w.conv_weight.numel() +
                                    w.conv_bias.numel() + w.norm_weight.numel() + w.o_proj.numel());
  }
  index_t d_model() const { return config_.d_model; }
  index_t ssm_size() const { return config_.n_heads * config_.head_k_dim() * config_.head_v_dim(); }

  State make_state() const {
    const index_t cd = config_.qkv_dim(), k = config_.conv_size;
    return State{cd,
                 k,
                 ssm_size(),
                 typename B::template buffer<float>(k > 0 ? (k - 1) * cd : 0),
                 typename B::template buffer<float>(ssm_size()),
                 0};
  }

  void forward(State& state, ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::forward_one(*this, state, x, y);
  }

  // A ragged batch: sequence s owns the next lengths[s] rows of x and y. The steps are the
  // equations at the top of this file; the backend's RetentionKernel supplies each of them.
  void forward_batch(std::span<State* const> states, std::span<const index_t> lengths,
                     ConstMatrixView<float> x, MatrixView<float> y) const {
    using K = RetentionKernel<B, W>;
    detail::check_activations("MultiScaleRetention", x, d_model(), y, d_model());
    detail::check_batch("MultiScaleRetention", states, lengths, x.rows());
    for (State* s : states) check_state(*s);
    K::check(*this, x, y);
    const index_t T = x.rows();
    if (T == 0) return;
    const Config& c = config_;
    const index_t pd = c.proj_dim(), qkv = c.qkv_dim(), vd = c.resolved_value_dim();
    const index_t gate = c.output_gate ? vd : 0;
    // Scratch, in the order of use: (q, k, v, g); the conv's output; the recurrence's output,
    // normed and gated in place.
    auto proj = detail::scratch<float, B>(T * pd);
    auto conv = detail::scratch<float, B>(c.conv_size > 0 ? T * qkv : 0);
    auto out = detail::scratch<float, B>(T * vd);
    const MatrixView<float> qkv_raw(proj.data(), {T, qkv}, {pd, 1});
    const ConstMatrixView<float> g(proj.data() + qkv, {T, gate}, {pd, 1});
    const MatrixView<float> out_v = out.template view<2>({T, vd});

    K::linear(*this, x, &Weights::in_proj, proj.template view<2>({T, pd}));
    MatrixView<float> qkv_in = qkv_raw;
    if (c.conv_size > 0) {
      qkv_in = conv.template view<2>({T, qkv});
      K::conv_silu(*this, states, lengths, qkv_raw, qkv_in);
    }
    K::rope(*this, states, lengths, qkv_in);
    K::recurrence(*this, states, lengths, qkv_in, out_v);
    K::norm_gate(*this, g, out_v);
    K::linear(*this, out_v, &Weights::o_proj, y);
    for (std::size_t s = 0; s < states.size(); ++s) states[s]->position += lengths[s];
  }

  void check_state(const State& s) const {
    const index_t k = config_.conv_size, cd = config_.qkv_dim();
    detail::check(s.qkv_dim == cd && s.conv_size == k && s.ssm_size == ssm_size() &&
                      s.conv.size() == (k > 0 ? (k - 1) * cd : 0) && s.ssm.size() == ssm_size(),
                  "MultiScaleRetention: state of a layer with ", s.qkv_dim,
                  " conv channels, conv_size ", s.conv_size, " and ", s.ssm_size,
                  " state values used with a layer with ", cd, ", ", k, " and ", ssm_size());
  }

 private:
  Config config_;
  Weights weights_;
  Resident resident_;
};

}  // namespace samba

// Differential attention (Ye et al. 2024, "Differential Transformer"), as Phi-4-mini-flash (SambaY,
// Hugging Face model_type phi4flash) runs it, in three kinds:
//
//   DifferentialAttention<B, W, sliding_window>  the query at position i sees keys i−W+1 … i; its
//                                                own ring-buffer KV cache (SambaY's self-decoder)
//   DifferentialAttention<B, W, causal>          keys 0 … i; its own growing KV cache, which later
//                                                cross-attention layers read (SambaY's layer N/2+1)
//   DifferentialCrossAttention<B, W>             queries only: attends causally over the KV cache
//                                                of a causal DifferentialAttention layer (YOCO)
//
// With n_heads query heads and n_kv_heads KV heads of head_dim d (both even), heads are split by
// parity into pairs: query pair j (j < n_heads / 2) is heads (2j, 2j+1), and it reads KV pair
// g = j / (n_heads / n_kv_heads), heads (2g, 2g+1). For each token (scale s = 1/√d, no positional
// encoding):
//
//   A1 = softmax(s · q_2j · k_2gᵀ),  A2 = softmax(s · q_2j+1 · k_2g+1ᵀ)   over the keys it sees
//   V  = [v_2g ‖ v_2g+1]                                                  (width 2d)
//   λ  = exp(λ_q1 · λ_k1) − exp(λ_q2 · λ_k2) + λ_init,  λ_init = 0.8 − 0.6 · exp(−0.3 · layer)
//   o_j = RMSNorm_eps(A1 · V − λ · A2 · V) ⊙ subln · (1 − λ_init)          (width 2d)
//   y   = W_o · concat_j(o_j) + b_o,   [q; k; v] = W_qkv · x + b_qkv
//
// where layer is the layer's 0-based index in the whole model (Mamba layers counted). λ is one
// scalar per layer. The cross kind projects only q (W_qkv is [n_heads · d, d_model]).
//
// How it runs: the two softmax maps of a pair are two heads of one ordinary attention whose heads
// are 2d wide — query 2j is [q_2j ‖ 0], query 2j+1 is [0 ‖ q_2j+1], and KV head g is the pair's
// keys [k_2g ‖ k_2g+1] and values V, exactly the KV projection's layout — so the attention core
// (window, cache, flash tiling) is the one plain attention uses, at the price of multiplying the
// zero halves of the queries.
#pragma once

#include <cmath>
#include <limits>
#include <span>
#include <string_view>

#include "samba/core/backend.hpp"
#include "samba/core/concepts.hpp"
#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"
#include "samba/layers/attention.hpp"
#include "samba/layers/common.hpp"
#include "samba/layers/linear_init.hpp"

namespace samba {

struct DiffAttentionConfig {
  index_t d_model = 0;
  index_t n_heads = 0;      // query heads (even)
  index_t n_kv_heads = 0;   // 0: n_heads; even, divides n_heads
  index_t head_dim = 0;     // 0: d_model / n_heads
  index_t window = 0;       // W, sliding-window kind only
  index_t layer_index = 0;  // the layer's 0-based depth in the model, for λ_init
  float norm_eps = 1e-5f;   // the sub-layer RMSNorm's
  bool qkv_bias = true;     // b_qkv (Phi-4-mini-flash has both biases)
  bool output_bias = true;  // b_o

  index_t resolved_n_kv_heads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
  index_t resolved_head_dim() const {
    return head_dim > 0 ? head_dim : (n_heads > 0 ? d_model / n_heads : 0);
  }
  index_t q_dim() const { return n_heads * resolved_head_dim(); }
  index_t kv_dim() const { return resolved_n_kv_heads() * resolved_head_dim(); }
  double lambda_init() const {
    return 0.8 - 0.6 * std::exp(-0.3 * static_cast<double>(layer_index));
  }

  // The plain attention the pairs run as (see the top of this file): n_heads heads of 2·head_dim
  // over n_kv_heads / 2 KV heads.
  AttentionConfig paired() const {
    AttentionConfig c;
    c.d_model = d_model;
    c.n_heads = n_heads;
    c.n_kv_heads = resolved_n_kv_heads() / 2;
    c.head_dim = 2 * resolved_head_dim();
    c.window = window;
    c.rotary_dims = 0;
    return c;
  }

  void validate(std::string_view layer, bool windowed) const {
    detail::check_positive(layer, "d_model", d_model);
    detail::check_positive(layer, "n_heads", n_heads);
    detail::check(n_kv_heads >= 0, layer, ": n_kv_heads must be > 0 (or 0 for n_heads), got ",
                  n_kv_heads);
    detail::check(n_heads % 2 == 0 && resolved_n_kv_heads() % 2 == 0, layer,
                  ": differential attention splits heads into pairs, so n_heads (", n_heads,
                  ") and n_kv_heads (", resolved_n_kv_heads(), ") must be even");
    detail::check(n_heads % resolved_n_kv_heads() == 0, layer, ": n_heads (", n_heads,
                  ") must be divisible by n_kv_heads (", resolved_n_kv_heads(), ")");
    detail::check(head_dim >= 0, layer, ": head_dim must be > 0 (or 0 for d_model / n_heads), got ",
                  head_dim);
    detail::check(head_dim > 0 || d_model % n_heads == 0, layer,
                  ": head_dim not given and d_model (", d_model, ") is not divisible by n_heads (",
                  n_heads, ")");
    detail::check(layer_index >= 0, layer, ": layer_index must be >= 0, got ", layer_index);
    detail::check(norm_eps >= 0.0f && std::isfinite(norm_eps), layer,
                  ": norm_eps must be finite and >= 0, got ", norm_eps);
    if (windowed) detail::check(window > 0, layer, ": window must be > 0, got ", window);
  }
};

template <StorageType W = float>
struct DiffAttentionWeights {
  Tensor<W> wqkv;      // [q_dim + 2·kv_dim, d_model]; the cross kind: [q_dim, d_model]
  Tensor<float> bqkv;  // its rows, with qkv_bias; empty otherwise
  Tensor<W> wo;        // [d_model, q_dim]
  Tensor<float> bo;    // [d_model] with output_bias; empty otherwise
  Tensor<float> lambda_q1, lambda_k1, lambda_q2, lambda_k2;  // [head_dim] each
  Tensor<float> subln;  // [2·head_dim]: the sub-layer RMSNorm's weight

  // Projections at the scale of linear_init.hpp, λ vectors N(0, 0.1²) (the published init),
  // norm weights near 1.
  static DiffAttentionWeights random(const DiffAttentionConfig& c, bool cross, Random& rng) {
    const index_t rows = cross ? c.q_dim() : c.q_dim() + 2 * c.kv_dim(), hd = c.resolved_head_dim();
    auto normal = [&](index_t n, float mean, float sd) {
      HostBuffer<float> b(n);
      for (auto& v : b) v = mean + sd * rng.normal();
      return Tensor<float>(Shape{n}, std::move(b));
    };
    DiffAttentionWeights w;
    w.wqkv = detail::random_matrix<W>(rows, c.d_model, rng);
    if (c.qkv_bias) w.bqkv = detail::random_uniform(Shape{rows}, -0.5f, 0.5f, rng);
    w.wo = detail::random_matrix<W>(c.d_model, c.q_dim(), rng);
    if (c.output_bias) w.bo = detail::random_uniform(Shape{c.d_model}, -0.5f, 0.5f, rng);
    w.lambda_q1 = normal(hd, 0.0f, 0.3f);
    w.lambda_k1 = normal(hd, 0.0f, 0.3f);
    w.lambda_q2 = normal(hd, 0.0f, 0.3f);
    w.lambda_k2 = normal(hd, 0.0f, 0.3f);
    w.subln = normal(2 * hd, 1.0f, 0.1f);
    return w;
  }
  template <StorageType U>
  DiffAttentionWeights<U> to() const {
    return {wqkv.template to<U>(),
            bqkv,
            wo.template to<U>(),
            bo,
            lambda_q1,
            lambda_k1,
            lambda_q2,
            lambda_k2,
            subln};
  }
};

// The primitives a backend supplies for differential attention (cpu/differential_attention.hpp,
// cuda/differential_attention.cuh). The layers' forward_batch own the steps and their scratch:
//   check(layer, x, y)               refuses what the backend cannot run
//   project(layer, x, qkv)           qkv = x · W_qkvᵀ + b_qkv
//   pair_queries(layer, qkv, paired) paired rows: the queries as 2·head_dim-wide heads (head 2j =
//                                    [q_2j ‖ 0], head 2j+1 = [0 ‖ q_2j+1]: 2·q_dim), then, where
//                                    qkv holds them (the self kinds), the keys and values
//   reserve(layer, state, len)       grows the KV cache so that len more tokens fit
//   attend(layer, caches, lengths, paired, out)
//                                    out [T, 2·q_dim]: the paired heads' attention of each
//                                    sequence's queries over its cache (positions before the
//                                    chunk) and the chunk's keys in paired; where paired has no
//                                    keys (the cross kind), over the cache alone, which already
//                                    holds the chunk's keys at positions position − len …
//   cache_append(layer, states, lengths, paired)
//                                    stores each chunk's keys and values in its state
//   combine(layer, out, o)           o [T, q_dim]: pair j's 2d columns = the normalised
//                                    A1·V − λ·A2·V of the paired heads 2j, 2j+1
//   output(layer, o, y)              y = o · W_oᵀ + b_o
template <class B, StorageType W>
struct DiffAttentionKernel {
  static_assert(detail::dependent_false<B>,
                "DifferentialAttention: no kernel for this backend (include samba/samba.hpp for "
                "samba::cpu, samba/cuda.cuh for samba::cuda)");
};

// A differential attention layer's KV cache: the key of absolute position p in row p % capacity;
// the capacity doubles as the sequence grows, up to `window` rows (then a ring) for the sliding
// kind, without limit for the causal one.
template <class B>
struct DiffAttentionCache {
  index_t kv_dim = 0;
  index_t max_rows = 0;
  index_t position = 0;  // tokens seen so far
  index_t capacity = 0;
  typename B::template buffer<float> k;  // [capacity, kv_dim]
  typename B::template buffer<float> v;  // [capacity, kv_dim]
  std::size_t bytes() const { return k.bytes() + v.bytes(); }
};

namespace detail {

// What the three kinds share: config, weights, λ, shapes.
template <class B, StorageType W>
class DiffAttentionBase {
 public:
  using backend_type = B;
  using weight_type = W;
  using Config = DiffAttentionConfig;
  using Weights = DiffAttentionWeights<W>;

  using Resident = detail::resident_t<B, DiffAttentionKernel<B, W>>;

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  // The backend's own form of the weights (device copies on samba::cuda; nothing on the CPU).
  const Resident& resident() const { return resident_; }
  index_t d_model() const { return config_.d_model; }
  // λ = exp(λ_q1 · λ_k1) − exp(λ_q2 · λ_k2) + λ_init, formed once in double.
  float lambda() const { return lambda_; }
  // 1 − λ_init, the scale after the sub-layer norm.
  float output_scale() const { return static_cast<float>(1.0 - config_.lambda_init()); }
  std::size_t parameter_count() const {
    const auto& w = weights_;
    return static_cast<std::size_t>(w.wqkv.numel() + w.bqkv.numel() + w.wo.numel() + w.bo.numel() +
                                    w.lambda_q1.numel() + w.lambda_k1.numel() +
                                    w.lambda_q2.numel() + w.lambda_k2.numel() + w.subln.numel());
  }

 protected:
  DiffAttentionBase(const Config& config, Weights weights, std::string_view name, bool windowed,
                    bool cross)
      : config_(config), weights_(std::move(weights)) {
    config_.validate(name, windowed);
    if (!windowed) config_.window = 0;
    const index_t d = config_.d_model, qd = config_.q_dim(), hd = config_.resolved_head_dim();
    const index_t rows = cross ? qd : qd + 2 * config_.kv_dim();
    check_shape(weights_.wqkv, name, "wqkv", {rows, d});
    check_optional(weights_.bqkv, config_.qkv_bias, name, "bqkv", rows, "qkv_bias");
    check_shape(weights_.wo, name, "wo", {d, qd});
    check_optional(weights_.bo, config_.output_bias, name, "bo", d, "output_bias");
    check_shape(weights_.lambda_q1, name, "lambda_q1", {hd});
    check_shape(weights_.lambda_k1, name, "lambda_k1", {hd});
    check_shape(weights_.lambda_q2, name, "lambda_q2", {hd});
    check_shape(weights_.lambda_k2, name, "lambda_k2", {hd});
    check_shape(weights_.subln, name, "subln", {2 * hd});
    double d1 = 0.0, d2 = 0.0;
    for (index_t i = 0; i < hd; ++i) {
      d1 += static_cast<double>(weights_.lambda_q1.data()[i]) * weights_.lambda_k1.data()[i];
      d2 += static_cast<double>(weights_.lambda_q2.data()[i]) * weights_.lambda_k2.data()[i];
    }
    const double lambda = std::exp(d1) - std::exp(d2) + config_.lambda_init();
    check(std::isfinite(lambda), name,
          ": lambda = exp(lambda_q1 . lambda_k1) - exp(lambda_q2 . "
          "lambda_k2) + lambda_init is not finite");
    lambda_ = static_cast<float>(lambda);
    resident_ = detail::make_resident<Resident>(*this);
  }

 private:
  static void check_optional(const Tensor<float>& t, bool wanted, std::string_view layer,
                             std::string_view name, index_t n, std::string_view flag) {
    if (wanted)
      check_shape(t, layer, name, {n});
    else
      check(t.empty(), layer, ": tensor '", name, "' given, but DiffAttentionConfig::", flag,
            " is false");
  }

  Config config_;
  Weights weights_;
  float lambda_ = 0.0f;
  Resident resident_;
};

}  // namespace detail

template <class B, StorageType W, AttentionKind Kind>
class DifferentialAttention : public detail::DiffAttentionBase<B, W> {
  using Base = detail::DiffAttentionBase<B, W>;

 public:
  using typename Base::Config;
  using typename Base::Weights;
  using State = DiffAttentionCache<B>;
  static constexpr AttentionKind kind = Kind;
  static constexpr std::string_view name = Kind == AttentionKind::sliding_window
                                               ? "DifferentialAttention (sliding window)"
                                               : "DifferentialAttention (causal)";

  DifferentialAttention(const Config& config, Weights weights)
      : Base(config, std::move(weights), name, Kind == AttentionKind::sliding_window, false) {}

  static DifferentialAttention random(const Config& config, Random& rng) {
    config.validate(name, Kind == AttentionKind::sliding_window);
    return DifferentialAttention(config, Weights::random(config, false, rng));
  }

  // Keys a query may see, itself included.
  index_t window() const {
    return Kind == AttentionKind::sliding_window ? this->config().window
                                                 : std::numeric_limits<index_t>::max();
  }

  State make_state() const {
    State s;
    s.kv_dim = this->config().kv_dim();
    s.max_rows = window();
    return s;
  }

  void forward(State& state, ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::forward_one(*this, state, x, y);
  }

  void forward_batch(std::span<State* const> states, std::span<const index_t> lengths,
                     ConstMatrixView<float> x, MatrixView<float> y) const {
    using K = DiffAttentionKernel<B, W>;
    detail::check_activations(name, x, this->d_model(), y, this->d_model());
    detail::check_batch(name, states, lengths, x.rows());
    for (State* s : states) check_state(*s);
    K::check(*this, x, y);
    const index_t T = x.rows();
    if (T == 0) return;
    const index_t qd = this->config().q_dim(), kvd = this->config().kv_dim();
    const index_t width = qd + 2 * kvd, paired_width = 2 * qd + 2 * kvd;
    auto qkv = detail::scratch<float, B>(T * width);
    auto paired = detail::scratch<float, B>(T * paired_width);
    auto out = detail::scratch<float, B>(T * 2 * qd);
    auto o = detail::scratch<float, B>(T * qd);
    const MatrixView<float> paired_v = paired.template view<2>({T, paired_width});
    K::project(*this, x, qkv.template view<2>({T, width}));
    K::pair_queries(*this, qkv.template view<2>({T, width}), paired_v);
    for (std::size_t s = 0; s < states.size(); ++s) K::reserve(*this, *states[s], lengths[s]);
    K::attend(*this, std::span<const State* const>(states.data(), states.size()), lengths, paired_v,
              out.template view<2>({T, 2 * qd}));
    K::cache_append(*this, states, lengths, paired_v);
    for (std::size_t s = 0; s < states.size(); ++s) states[s]->position += lengths[s];
    K::combine(*this, out.template view<2>({T, 2 * qd}), o.template view<2>({T, qd}));
    K::output(*this, o.template view<2>({T, qd}), y);
  }

  void check_state(const State& s) const {
    detail::check(s.kv_dim == this->config().kv_dim() && s.max_rows == window() &&
                      s.k.size() == s.capacity * s.kv_dim && s.v.size() == s.capacity * s.kv_dim,
                  name, ": state of a layer with kv_dim ", s.kv_dim, " and cache limit ",
                  s.max_rows, " used with a layer with kv_dim ", this->config().kv_dim(),
                  " and cache limit ", window());
  }
};

template <class B = cpu, StorageType W = float>
using SlidingDifferentialAttention = DifferentialAttention<B, W, AttentionKind::sliding_window>;
template <class B = cpu, StorageType W = float>
using CausalDifferentialAttention = DifferentialAttention<B, W, AttentionKind::causal>;

// Cross-attention (YOCO's, SambaY's cross-decoder): queries from its own projection, keys and
// values from the KV cache of a causal DifferentialAttention layer that has already run the same
// tokens (so the cache holds the chunk's keys too): the query at position i sees keys 0 … i. It has
// no state of its own; it is not a samba::Layer, since its forward needs the other layer's caches.
template <class B = cpu, StorageType W = float>
class DifferentialCrossAttention : public detail::DiffAttentionBase<B, W> {
  using Base = detail::DiffAttentionBase<B, W>;

 public:
  using typename Base::Config;
  using typename Base::Weights;
  using Source = DiffAttentionCache<B>;  // the shared layer's State
  static constexpr std::string_view name = "DifferentialCrossAttention";

  DifferentialCrossAttention(const Config& config, Weights weights)
      : Base(config, std::move(weights), name, false, true) {}

  static DifferentialCrossAttention random(const Config& config, Random& rng) {
    config.validate(name, false);
    return DifferentialCrossAttention(config, Weights::random(config, true, rng));
  }

  // A ragged batch: sequence s owns the next lengths[s] rows of x and y, which are the last
  // lengths[s] tokens sources[s] has seen.
  void forward_batch(std::span<const Source* const> sources, std::span<const index_t> lengths,
                     ConstMatrixView<float> x, MatrixView<float> y) const {
    using K = DiffAttentionKernel<B, W>;
    detail::check_activations(name, x, this->d_model(), y, this->d_model());
    detail::check(sources.size() == lengths.size(), name, ": ", sources.size(), " caches for ",
                  lengths.size(), " sequences");
    index_t total = 0;
    for (std::size_t s = 0; s < sources.size(); ++s) {
      detail::check(sources[s] != nullptr, name, ": the cache of sequence ", s, " is null");
      const Source& src = *sources[s];
      detail::check(lengths[s] >= 0 && src.kv_dim == this->config().kv_dim() &&
                        src.max_rows == std::numeric_limits<index_t>::max() &&
                        src.position >= lengths[s] && src.capacity >= src.position &&
                        src.k.size() == src.capacity * src.kv_dim &&
                        src.v.size() == src.capacity * src.kv_dim,
                    name, ": sequence ", s, " reads a cache of kv_dim ", src.kv_dim, " holding ",
                    src.position, " tokens, needs a causal cache of kv_dim ",
                    this->config().kv_dim(), " that already holds its ", lengths[s], " tokens");
      total += lengths[s];
    }
    detail::check(total == x.rows(), name, ": the lengths add up to ", total, " rows, x has ",
                  x.rows());
    K::check(*this, x, y);
    const index_t T = x.rows();
    if (T == 0) return;
    const index_t qd = this->config().q_dim();
    auto q = detail::scratch<float, B>(T * qd);
    auto paired = detail::scratch<float, B>(T * 2 * qd);
    auto out = detail::scratch<float, B>(T * 2 * qd);
    const MatrixView<float> q_v = q.template view<2>({T, qd});
    K::project(*this, x, q_v);
    K::pair_queries(*this, q_v, paired.template view<2>({T, 2 * qd}));
    K::attend(*this, sources, lengths, paired.template view<2>({T, 2 * qd}),
              out.template view<2>({T, 2 * qd}));
    K::combine(*this, out.template view<2>({T, 2 * qd}), q_v);
    K::output(*this, q_v, y);
  }
};

}  // namespace samba

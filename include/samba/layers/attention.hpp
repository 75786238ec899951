// Multi-head attention with grouped-query heads (GQA) and rotary position embeddings, in two kinds:
//
//   SlidingWindowAttention  the query at absolute position i sees keys i−W+1 … i (W keys, itself
//                           included): Samba's SWA layer. The KV cache is a ring buffer of at most
//                           W entries, so a sequence's memory never grows past O(W).
//   CausalAttention         the query at i sees keys 0 … i: the Transformer (Llama) baseline. The
//                           KV cache grows with the sequence.
//
// For each token x_t at absolute position p (counted from the start of the stream):
//
//   q_h = RoPE_p(W_q,h · x_t),  k_g = RoPE_p(W_k,g · x_t),  v_g = W_v,g · x_t
//   o_h = Σ_j softmax_j(q_h · k_g(j) / sqrt(head_dim)) · v_g(j)     g = h / (n_heads / n_kv_heads)
//   y_t = W_o · concat_h(o_h)  (+ b_o with output_bias: RecurrentGemma's o_proj)
//
// RoPE (rotate-half) acts on the first rotary_dims dims of each head; for i < r = rotary_dims / 2,
//   θ_i = p · base^(−2i / rotary_dims),
//   (a_i, a_{i+r}) ↦ (a_i cos θ_i − a_{i+r} sin θ_i,  a_{i+r} cos θ_i + a_i sin θ_i);
// the remaining dims pass through. No other biases.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string_view>

#include "samba/core/backend.hpp"
#include "samba/core/concepts.hpp"
#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"
#include "samba/layers/common.hpp"
#include "samba/layers/linear_init.hpp"

namespace samba {

enum class AttentionKind { sliding_window, causal };

struct AttentionConfig {
  index_t d_model = 0;
  index_t n_heads = 0;
  index_t n_kv_heads = 0;  // 0: n_heads (plain multi-head attention)
  index_t head_dim = 0;    // 0: d_model / n_heads
  index_t window = 0;      // W, sliding-window attention only (CausalAttention ignores it)
  double rope_base = 10000.0;
  index_t rotary_dims = -1;  // -1: all of head_dim; 0: no RoPE
  bool output_bias = false;  // b_o after W_o

  index_t resolved_n_kv_heads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
  index_t resolved_head_dim() const {
    return head_dim > 0 ? head_dim : (n_heads > 0 ? d_model / n_heads : 0);
  }
  index_t resolved_rotary_dims() const {
    return rotary_dims < 0 ? resolved_head_dim() : rotary_dims;
  }
  index_t q_dim() const { return n_heads * resolved_head_dim(); }
  index_t kv_dim() const { return resolved_n_kv_heads() * resolved_head_dim(); }

  void validate(AttentionKind kind) const {
    const std::string_view layer =
        kind == AttentionKind::sliding_window ? "SlidingWindowAttention" : "CausalAttention";
    detail::check_positive(layer, "d_model", d_model);
    detail::check_positive(layer, "n_heads", n_heads);
    detail::check(n_kv_heads >= 0, layer, ": n_kv_heads must be > 0 (or 0 for n_heads), got ",
                  n_kv_heads);
    detail::check(n_heads % resolved_n_kv_heads() == 0, layer, ": n_heads (", n_heads,
                  ") must be divisible by n_kv_heads (", resolved_n_kv_heads(), ")");
    detail::check(head_dim >= 0, layer, ": head_dim must be > 0 (or 0 for d_model / n_heads), got ",
                  head_dim);
    detail::check(head_dim > 0 || d_model % n_heads == 0, layer,
                  ": head_dim not given and d_model (", d_model, ") is not divisible by n_heads (",
                  n_heads, ")");
    const index_t rd = resolved_rotary_dims();
    detail::check(rd >= 0 && rd <= resolved_head_dim() && rd % 2 == 0, layer,
                  ": rotary_dims must be even and in [0, head_dim = ", resolved_head_dim(),
                  "], got ", rd);
    detail::check(rope_base > 0.0 && std::isfinite(rope_base), layer,
                  ": rope_base must be > 0, got ", rope_base);
    if (kind == AttentionKind::sliding_window)
      detail::check(window > 0, layer, ": window must be > 0, got ", window);
  }
};

template <StorageType W = float>
struct AttentionWeights {
  Tensor<W> wq;           // [n_heads · head_dim, d_model]
  Tensor<W> wk;           // [n_kv_heads · head_dim, d_model]
  Tensor<W> wv;           // [n_kv_heads · head_dim, d_model]
  Tensor<W> wo;           // [d_model, n_heads · head_dim]
  Tensor<float> bo = {};  // [d_model] with AttentionConfig::output_bias; empty otherwise

  static AttentionWeights random(const AttentionConfig& c, Random& rng) {
    AttentionWeights w{detail::random_matrix<W>(c.q_dim(), c.d_model, rng),
                       detail::random_matrix<W>(c.kv_dim(), c.d_model, rng),
                       detail::random_matrix<W>(c.kv_dim(), c.d_model, rng),
                       detail::random_matrix<W>(c.d_model, c.q_dim(), rng)};
    if (c.output_bias) w.bo = detail::random_uniform(Shape{c.d_model}, -0.5f, 0.5f, rng);
    return w;
  }
  template <StorageType U>
  AttentionWeights<U> to() const {
    return {wq.template to<U>(), wk.template to<U>(), wv.template to<U>(), wo.template to<U>(), bo};
  }
};

// The primitives a backend supplies for Attention (cpu/attention.hpp, cuda/attention.cuh). The
// layer's forward_batch owns the steps and their scratch; each primitive knows only its own step.
// qkv is [T, q_dim + 2·kv_dim]: per row q, then k, then v; a sequence's rows are those of its
// chunk.
//   check(layer, x, y)               refuses what the backend cannot run (compiled-in sizes)
//   project_qkv(layer, x, qkv)       qkv = x · [W_q; W_k; W_v]ᵀ
//   reserve(layer, state, len)       grows the KV cache (doubling, up to max_rows) so that len more
//                                    tokens fit; before the ring is full, row p holds position p
//   rope(layer, states, lengths, qkv)
//                                    rotates q and k of each row at its absolute position
//   attend(layer, states, lengths, qkv, out)
//                                    out [T, q_dim]: each query's softmax attention over the keys
//                                    its window sees, the cached ones and its chunk's own
//   cache_append(layer, states, lengths, qkv)
//                                    stores each chunk's last min(len, capacity) keys and values
//                                    at rows (position + t) % capacity
//   linear(layer, &AttentionWeights<W>::wo, out, y)
//                                    y = out · W_oᵀ (+ b_o) with the layer's weights (the
//                                    backend's copy)
// The layer then advances each state's position.
template <class B, StorageType W, AttentionKind Kind>
struct AttentionKernel {
  static_assert(detail::dependent_false<B>,
                "Attention: no kernel for this backend (include samba/samba.hpp for samba::cpu, "
                "samba/cuda.cuh for samba::cuda)");
};

template <class B, StorageType W, AttentionKind Kind>
class Attention {
 public:
  using backend_type = B;
  using weight_type = W;
  using Config = AttentionConfig;
  using Weights = AttentionWeights<W>;
  using Resident = detail::resident_t<B, AttentionKernel<B, W, Kind>>;
  static constexpr AttentionKind kind = Kind;
  static constexpr std::string_view name =
      Kind == AttentionKind::sliding_window ? "SlidingWindowAttention" : "CausalAttention";

  // Per-sequence KV cache. The key of absolute position p lives in row p % capacity. The capacity
  // grows (doubling) as the sequence does, up to `window` rows for sliding-window attention, after
  // which the buffer is a ring; causal attention keeps growing.
  struct State {
    index_t kv_dim = 0;
    index_t max_rows = 0;  // W for sliding window; unbounded (max index_t) for causal
    index_t position = 0;  // tokens seen so far: the absolute position of the next token
    index_t capacity = 0;  // rows allocated in k and v
    typename B::template buffer<float> k;  // [capacity, kv_dim], RoPE already applied
    typename B::template buffer<float> v;  // [capacity, kv_dim]
    std::size_t bytes() const { return k.bytes() + v.bytes(); }
  };

  Attention(const Config& config, Weights weights) : config_(config), weights_(std::move(weights)) {
    config_.validate(Kind);
    if constexpr (Kind == AttentionKind::causal) config_.window = 0;
    check_shape(weights_.wq, name, "wq", {config_.q_dim(), config_.d_model});
    check_shape(weights_.wk, name, "wk", {config_.kv_dim(), config_.d_model});
    check_shape(weights_.wv, name, "wv", {config_.kv_dim(), config_.d_model});
    check_shape(weights_.wo, name, "wo", {config_.d_model, config_.q_dim()});
    if (config_.output_bias)
      check_shape(weights_.bo, name, "bo", {config_.d_model});
    else
      detail::check(weights_.bo.empty(), name,
                    ": tensor 'bo' given to a layer without an output bias "
                    "(AttentionConfig::output_bias is false)");
    resident_ = detail::make_resident<Resident>(*this);
  }

  // A layer with random weights (see Weights::random), for demos, tests and benchmarks.
  static Attention random(const Config& config, Random& rng) {
    config.validate(Kind);
    return Attention(config, Weights::random(config, rng));
  }

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  // The backend's own form of the weights (device copies on samba::cuda; nothing on the CPU).
  const Resident& resident() const { return resident_; }
  std::size_t parameter_count() const {
    const auto& w = weights_;
    return static_cast<std::size_t>(w.wq.numel() + w.wk.numel() + w.wv.numel() + w.wo.numel() +
                                    w.bo.numel());
  }
  index_t d_model() const { return config_.d_model; }
  // Keys a query may see, itself included.
  index_t window() const {
    return Kind == AttentionKind::sliding_window ? config_.window
                                                 : std::numeric_limits<index_t>::max();
  }

  State make_state() const {
    State s;
    s.kv_dim = config_.kv_dim();
    s.max_rows = window();
    return s;
  }

  // One chunk of one sequence.
  void forward(State& state, ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::forward_one(*this, state, x, y);
  }

  // A ragged batch: sequence s owns the next lengths[s] rows of x and y, each sequence at its own
  // position with its own cache. Projections run over all rows at once; attention per sequence.
  // The steps are the equations at the top of this file; the backend's AttentionKernel supplies
  // each of them.
  void forward_batch(std::span<State* const> states, std::span<const index_t> lengths,
                     ConstMatrixView<float> x, MatrixView<float> y) const {
    using K = AttentionKernel<B, W, Kind>;
    detail::check_activations(name, x, d_model(), y, d_model());
    detail::check_batch(name, states, lengths, x.rows());
    for (State* s : states) check_state(*s);
    K::check(*this, x, y);
    const index_t T = x.rows();
    if (T == 0) return;
    const index_t qd = config_.q_dim(), width = qd + 2 * config_.kv_dim();
    auto qkv = detail::scratch<float, B>(T * width);
    auto out = detail::scratch<float, B>(T * qd);
    const MatrixView<float> qkv_v = qkv.template view<2>({T, width});
    const MatrixView<float> out_v = out.template view<2>({T, qd});

    K::project_qkv(*this, x, qkv_v);
    for (std::size_t s = 0; s < states.size(); ++s) K::reserve(*this, *states[s], lengths[s]);
    K::rope(*this, states, lengths, qkv_v);
    K::attend(*this, states, lengths, qkv_v, out_v);
    K::cache_append(*this, states, lengths, qkv_v);
    for (std::size_t s = 0; s < states.size(); ++s) states[s]->position += lengths[s];
    K::linear(*this, &Weights::wo, out_v, y);
  }

  void check_state(const State& s) const {
    detail::check(s.kv_dim == config_.kv_dim() && s.max_rows == window() &&
                      s.k.size() == s.capacity * s.kv_dim && s.v.size() == s.capacity * s.kv_dim,
                  name, ": state of a layer with kv_dim ", s.kv_dim, " and cache limit ",
                  s.max_rows, " used with a layer with kv_dim ", config_.kv_dim(),
                  " and cache limit ", window());
  }

 private:
  Config config_;
  Weights weights_;
  Resident resident_;
};

template <class B = cpu, StorageType W = float>
using SlidingWindowAttention = Attention<B, W, AttentionKind::sliding_window>;

template <class B = cpu, StorageType W = float>
using CausalAttention = Attention<B, W, AttentionKind::causal>;

}  // namespace samba

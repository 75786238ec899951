// MambaLayer: the Mamba-1 selective state-space mixer (Gu & Dao, 2023), Samba's recurrent layer.
//
// For each token x_t ∈ R^d_model, with d_inner = expand · d_model:
//
//   (u_t, z_t)   = in_proj · x_t                                 u, z ∈ R^d_inner
//   u'_t         = silu(conv_bias + Σ_k conv_w[:, k] ⊙ u_{t-(d_conv-1)+k})   causal depthwise conv
//   (δ_t, B_t, C_t) = x_proj · u'_t                               δ ∈ R^dt_rank, B, C ∈ R^d_state
//   Δ_t          = softplus(dt_proj · δ_t + dt_bias)               Δ ∈ R^d_inner
//   A            = −exp(A_log)                                     A ∈ R^{d_inner × d_state}
//   h_t[c, n]    = exp(Δ_t[c] · A[c, n]) · h_{t−1}[c, n] + Δ_t[c] · B_t[n] · u'_t[c]
//   y_t[c]       = Σ_n C_t[n] · h_t[c, n] + D[c] · u'_t[c]
//   out_t        = out_proj · (y_t ⊙ silu(z_t))
//
// softplus(a) = log(1 + e^a), and a itself for a > 20 (PyTorch's threshold).
//
// The per-sequence State holds the last d_conv − 1 conv inputs u and the f32 SSM state h: its size
// does not depend on how many tokens the sequence has seen. Carrying it between calls makes any
// split of a sequence into chunks produce the same output as one call.
//
// Projection matrices are stored as W (f32, bf16, f16); the small per-channel tensors (conv,
// biases, A_log, D) are always f32.
#pragma once

#include <cmath>
#include <span>
#include <vector>

#include "samba/core/backend.hpp"
#include "samba/core/concepts.hpp"
#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"
#include "samba/layers/common.hpp"
#include "samba/layers/linear_init.hpp"

namespace samba {

struct MambaConfig {
  index_t d_model = 0;
  index_t d_state = 16;
  index_t d_conv = 4;
  index_t expand = 2;
  index_t dt_rank = 0;  // 0: ceil(d_model / 16), as in the reference code

  index_t d_inner() const { return expand * d_model; }
  index_t resolved_dt_rank() const { return dt_rank > 0 ? dt_rank : (d_model + 15) / 16; }

  void validate() const {
    detail::check_positive("MambaLayer", "d_model", d_model);
    detail::check_positive("MambaLayer", "d_state", d_state);
    detail::check_positive("MambaLayer", "d_conv", d_conv);
    detail::check_positive("MambaLayer", "expand", expand);
    detail::check(dt_rank >= 0, "MambaLayer: dt_rank must be > 0 (or 0 for ceil(d_model/16)), got ",
                  dt_rank);
  }
};

template <StorageType W = float>
struct MambaWeights {
  Tensor<W> in_proj;          // [2·d_inner, d_model]: rows [0, d_inner) give u, the rest z
  Tensor<float> conv_weight;  // [d_inner, d_conv]
  Tensor<float> conv_bias;    // [d_inner]
  Tensor<W> x_proj;           // [dt_rank + 2·d_state, d_inner]: rows δ, then B, then C
  Tensor<W> dt_proj;          // [d_inner, dt_rank]
  Tensor<float> dt_bias;      // [d_inner]
  Tensor<float> A_log;        // [d_inner, d_state]
  Tensor<float> D;            // [d_inner]
  Tensor<W> out_proj;         // [d_model, d_inner]

  // The initialisation of the reference code: S4D-real A, Δ log-uniform in [1e-3, 1e-1].
  static MambaWeights random(const MambaConfig& c, Random& rng) {
    const index_t di = c.d_inner(), r = c.resolved_dt_rank(), n = c.d_state;
    MambaWeights w;
    w.in_proj = detail::random_matrix<W>(2 * di, c.d_model, rng);
    const float conv_bound = 1.0f / std::sqrt(static_cast<float>(c.d_conv));
    w.conv_weight = detail::random_uniform(Shape{di, c.d_conv}, -conv_bound, conv_bound, rng);
    w.conv_bias = detail::random_uniform(Shape{di}, -conv_bound, conv_bound, rng);
    w.x_proj = detail::random_matrix<W>(r + 2 * n, di, rng);
    w.dt_proj = detail::random_matrix<W>(di, r, rng);
    HostBuffer<float> dt_bias(di), a_log(di * n), d(di);
    for (index_t ch = 0; ch < di; ++ch) {
      const double dt = std::exp(rng.uniform(std::log(1e-3f), std::log(1e-1f)));
      dt_bias[ch] = static_cast<float>(dt + std::log(-std::expm1(-dt)));  // softplus⁻¹(dt)
      d[ch] = 1.0f;
      for (index_t s = 0; s < n; ++s) a_log[ch * n + s] = std::log(static_cast<float>(s + 1));
    }
    w.dt_bias = Tensor<float>(Shape{di}, std::move(dt_bias));
    w.A_log = Tensor<float>(Shape{di, n}, std::move(a_log));
    w.D = Tensor<float>(Shape{di}, std::move(d));
    w.out_proj = detail::random_matrix<W>(c.d_model, di, rng);
    return w;
  }

  template <StorageType U>
  MambaWeights<U> to() const {
    return {in_proj.template to<U>(), conv_weight, conv_bias, x_proj.template to<U>(),
            dt_proj.template to<U>(), dt_bias,     A_log,     D,
            out_proj.template to<U>()};
  }
};

// What the selective scan reads: u' [T, d_inner], dt = dt_proj · δ [T, d_inner] (before its bias
// and softplus; the scan may overwrite it), (B, C) [T, 2·d_state] (B in columns [0, d_state), C
// after it) and z [T, d_inner]; rows of one batch, sequence after sequence.
struct MambaScanInputs {
  ConstMatrixView<float> u;
  MatrixView<float> dt;
  ConstMatrixView<float> bc;
  ConstMatrixView<float> z;
  MatrixView<float> ungated;  // empty, or [T, d_inner] that also receives C · h + D ⊙ u' (no gate)
};

// The primitives a backend supplies for MambaLayer (cpu/mamba.hpp, cuda/mamba.cuh). The layer's
// forward_batch owns the steps and their scratch; each primitive knows only its own step:
//   check(layer, x, y)            refuses what the backend cannot run (memory, compiled-in sizes)
//   linear(layer, &MambaWeights<W>::proj, x, y)
//                                 y = x · projᵀ with the layer's weight (the backend's copy of it)
//   conv_silu(layer, states, lengths, u, out)
//                                 out = silu(conv_bias + causal depthwise conv of u), each sequence
//                                 continuing from its state's last inputs, which it then advances
//   selective_scan(layer, states, lengths, MambaScanInputs, y)
//                                 Δ = softplus(dt + dt_bias), h_t = exp(Δ A) ⊙ h_{t−1} + Δ B_t
//                                 u'_t, y_t = (C_t · h_t + D ⊙ u'_t) ⊙ silu(z_t), each sequence
//                                 from its state's h, which it then advances
template <class B, StorageType W>
struct MambaKernel {
  static_assert(detail::dependent_false<B>,
                "MambaLayer: no kernel for this backend (include samba/samba.hpp for samba::cpu, "
                "samba/cuda.cuh for samba::cuda)");
};

template <class B = cpu, StorageType W = float>
class MambaLayer {
 public:
  using backend_type = B;
  using weight_type = W;
  using Config = MambaConfig;
  using Weights = MambaWeights<W>;
  using Resident = detail::resident_t<B, MambaKernel<B, W>>;

  // Per-sequence state: constant size, whatever the sequence length.
  struct State {
    index_t d_inner = 0, d_state = 0, d_conv = 0;
    typename B::template buffer<float>
        conv;  // [d_conv − 1, d_inner]: the last inputs u, oldest first
    typename B::template buffer<float> ssm;  // [d_inner, d_state]: h
    std::size_t bytes() const { return conv.bytes() + ssm.bytes(); }
  };

  MambaLayer(const Config& config, Weights weights)
      : config_(config), weights_(std::move(weights)) {
    config_.validate();
    const index_t di = config_.d_inner(), r = config_.resolved_dt_rank(), n = config_.d_state;
    check_shape(weights_.in_proj, "MambaLayer", "in_proj", {2 * di, config_.d_model});
    check_shape(weights_.conv_weight, "MambaLayer", "conv_weight", {di, config_.d_conv});
    check_shape(weights_.conv_bias, "MambaLayer", "conv_bias", {di});
    check_shape(weights_.x_proj, "MambaLayer", "x_proj", {r + 2 * n, di});
    check_shape(weights_.dt_proj, "MambaLayer", "dt_proj", {di, r});
    check_shape(weights_.dt_bias, "MambaLayer", "dt_bias", {di});
    check_shape(weights_.A_log, "MambaLayer", "A_log", {di, n});
    check_shape(weights_.D, "MambaLayer", "D", {di});
    check_shape(weights_.out_proj, "MambaLayer", "out_proj", {config_.d_model, di});
    // A = −exp(A_log) once, not per token.
    HostBuffer<float> a(di * n);
    for (index_t i = 0; i < di * n; ++i) a[i] = -std::exp(weights_.A_log.data()[i]);
    A_ = Tensor<float>(Shape{di, n}, std::move(a));
    resident_ = detail::make_resident<Resident>(*this);
  }

  // A layer with random weights (see Weights::random), for demos, tests and benchmarks.
  static MambaLayer random(const Config& config, Random& rng) {
    config.validate();
    return MambaLayer(config, Weights::random(config, rng));
  }

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  // The backend's own form of the weights (device copies on samba::cuda; nothing on the CPU).
  const Resident& resident() const { return resident_; }
  const Tensor<float>& A() const { return A_; }  // −exp(A_log), [d_inner, d_state]
  std::size_t parameter_count() const {
    const auto& w = weights_;
    return static_cast<std::size_t>(
        w.in_proj.numel() + w.conv_weight.numel() + w.conv_bias.numel() + w.x_proj.numel() +
        w.dt_proj.numel() + w.dt_bias.numel() + w.A_log.numel() + w.D.numel() + w.out_proj.numel());
  }
  index_t d_model() const { return config_.d_model; }

  State make_state() const {
    const index_t di = config_.d_inner();
    return State{di, config_.d_state, config_.d_conv,
                 typename B::template buffer<float>((config_.d_conv - 1) * di),
                 typename B::template buffer<float>(di * config_.d_state)};
  }

  // One chunk of one sequence.
  void forward(State& state, ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::forward_one(*this, state, x, y);
  }

  // A ragged batch: sequence s owns the next lengths[s] rows of x and y (e.g. one token each for
  // batched decode). Projections run over all rows at once; conv and scan per sequence. The steps
  // are the equations at the top of this file; the backend's MambaKernel supplies each of them.
  void forward_batch(std::span<State* const> states, std::span<const index_t> lengths,
                     ConstMatrixView<float> x, MatrixView<float> y) const {
    forward_batch(states, lengths, x, y, MatrixView<float>());
  }

  // The same, also writing the scan's output before its gate, C · h_t + D ⊙ u'_t, into memory
  // [T, d_inner] (empty: not wanted): the memory a Gated Memory Unit reads (SambaY's layer 16;
  // layers/gated_memory.hpp).
  void forward_batch(std::span<State* const> states, std::span<const index_t> lengths,
                     ConstMatrixView<float> x, MatrixView<float> y,
                     MatrixView<float> memory) const {
    using K = MambaKernel<B, W>;
    detail::check_activations("MambaLayer", x, d_model(), y, d_model());
    detail::check_batch("MambaLayer", states, lengths, x.rows());
    for (State* s : states) check_state(*s);
    K::check(*this, x, y);
    const index_t T = x.rows();
    if (T == 0) return;
    const index_t di = config_.d_inner(), n = config_.d_state, r = config_.resolved_dt_rank();
    const index_t xw = r + 2 * n;
    // Scratch, in the order of use: xz = (u, z); u'; xdbl = (δ, B, C); dt; the gated scan output.
    auto xz = detail::scratch<float, B>(T * 2 * di);
    auto uc = detail::scratch<float, B>(T * di);
    auto xdbl = detail::scratch<float, B>(T * xw);
    auto dt = detail::scratch<float, B>(T * di);
    auto gated = detail::scratch<float, B>(T * di);
    const ConstMatrixView<float> u(xz.data(), {T, di}, {2 * di, 1});
    const ConstMatrixView<float> z(xz.data() + di, {T, di}, {2 * di, 1});
    const MatrixView<float> uc_v = uc.template view<2>({T, di});

    K::linear(*this, &Weights::in_proj, x, xz.template view<2>({T, 2 * di}));
    K::conv_silu(*this, states, lengths, u, uc_v);
    K::linear(*this, &Weights::x_proj, uc_v, xdbl.template view<2>({T, xw}));
    K::linear(*this, &Weights::dt_proj, ConstMatrixView<float>(xdbl.data(), {T, r}, {xw, 1}),
              dt.template view<2>({T, di}));
    if (memory.data() != nullptr)
      detail::check(memory.rows() == T && memory.cols() == di, "MambaLayer: memory buffer is ",
                    memory.dyn_shape(), ", expected [", T, ", ", di, "]");
    const MambaScanInputs in{uc_v, dt.template view<2>({T, di}),
                             ConstMatrixView<float>(xdbl.data() + r, {T, 2 * n}, {xw, 1}), z,
                             memory};
    K::selective_scan(*this, states, lengths, in, gated.template view<2>({T, di}));
    K::linear(*this, &Weights::out_proj, gated.template view<2>({T, di}), y);
  }

  void check_state(const State& s) const {
    detail::check(s.d_inner == config_.d_inner() && s.d_state == config_.d_state &&
                      s.d_conv == config_.d_conv && s.conv.size() == (s.d_conv - 1) * s.d_inner &&
                      s.ssm.size() == s.d_inner * s.d_state,
                  "MambaLayer: state of a layer with d_inner ", s.d_inner, ", d_state ", s.d_state,
                  ", d_conv ", s.d_conv, " used with a layer with d_inner ", config_.d_inner(),
                  ", d_state ", config_.d_state, ", d_conv ", config_.d_conv);
  }

 private:
  Config config_;
  Weights weights_;
  Tensor<float> A_;
  Resident resident_;
};

}  // namespace samba

// Mamba2Layer: the Mamba-2 mixer (Dao & Gu, 2024, "Transformers are SSMs"), as state-spaces/mamba's
// Mamba2 and Hugging Face's Mamba2Mixer compute it.
//
// For each token x_t ∈ R^d_model, with H = d_inner / head_dim heads of head_dim (P) channels,
// G groups of B and C (d_state N each), conv_dim = d_inner + 2·G·N:
//
//   (z_t, xBC_t, dt_t) = in_proj · x_t               z ∈ R^d_inner, xBC ∈ R^conv_dim, dt ∈ R^H
//   xBC'_t         = silu(conv_bias + Σ_k conv_w[:, k] ⊙ xBC_{t−(d_conv−1)+k})   causal depthwise
//   (u_t, B_t, C_t) = xBC'_t                          u ∈ R^d_inner, B, C ∈ R^{G·N}
//   Δ_t[h]         = clamp(softplus(dt_t[h] + dt_bias[h]), dt_min, dt_max)    (time_step_limit)
//   A[h]           = −exp(A_log[h])                   one scalar per head
//   S_t[h]         = exp(Δ_t[h] A[h]) · S_{t−1}[h] + B_t[g] · (Δ_t[h] u_t[h])ᵀ      S[h] ∈ R^{N×P}
//   y_t[h]         = S_t[h]ᵀ · C_t[g] + D[h] · u_t[h]       g = h / (H / G)
//   out_t          = out_proj · RMSNorm_groups(y_t ⊙ silu(z_t)) ⊙ norm_weight
//
// The SSM is the gated linear recurrence of cpu/linear_recurrence.hpp with q = C, k = B,
// v = Δ·u and a per-head log decay Δ·A. The gated RMSNorm normalises groups of norm_group
// channels (the whole d_inner in Hugging Face's MambaRMSNormGated, which ignores n_groups there;
// d_inner / n_groups in NVIDIA's Nemotron-H). softplus(a) = log(1 + e^a), a above 20.
//
// The per-sequence State holds the last d_conv − 1 conv inputs (xBC before the conv) and the f32
// SSM state, [H, N, P]: its size does not depend on how many tokens the sequence has seen.
// Projections are stored as W (f32, bf16, f16); the small tensors (conv, dt_bias, A_log, D, the
// norm weight) are f32.
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

struct Mamba2Config {
  index_t d_model = 0;
  index_t d_inner = 0;  // 0: expand · d_model
  index_t expand = 2;
  index_t d_state = 128;  // N
  index_t n_groups = 1;   // G
  index_t head_dim = 64;  // P
  index_t d_conv = 4;
  float dt_min = 0.0f;  // time_step_limit: Δ is clamped to [dt_min, dt_max]
  float dt_max = std::numeric_limits<float>::infinity();
  index_t norm_group = 0;  // channels per gated-RMSNorm group; 0: d_inner
  float norm_eps = 1e-5f;

  index_t resolved_d_inner() const { return d_inner > 0 ? d_inner : expand * d_model; }
  index_t n_heads() const { return head_dim > 0 ? resolved_d_inner() / head_dim : 0; }
  index_t conv_dim() const { return resolved_d_inner() + 2 * n_groups * d_state; }
  // in_proj's rows: z, then xBC, then dt.
  index_t proj_dim() const { return resolved_d_inner() + conv_dim() + n_heads(); }
  index_t resolved_norm_group() const { return norm_group > 0 ? norm_group : resolved_d_inner(); }

  void validate() const {
    constexpr std::string_view L = "Mamba2Layer";
    detail::check_positive(L, "d_model", d_model);
    detail::check(d_inner >= 0, L, ": d_inner must be > 0 (or 0 for expand · d_model), got ",
                  d_inner);
    if (d_inner == 0) detail::check_positive(L, "expand", expand);
    detail::check_positive(L, "d_state", d_state);
    detail::check_positive(L, "n_groups", n_groups);
    detail::check_positive(L, "head_dim", head_dim);
    detail::check_positive(L, "d_conv", d_conv);
    const index_t di = resolved_d_inner();
    detail::check(di % head_dim == 0, L, ": d_inner (", di, ") is not a multiple of head_dim (",
                  head_dim, ")");
    detail::check(n_heads() % n_groups == 0, L, ": n_groups (", n_groups,
                  ") does not divide the heads (", n_heads(), " = d_inner / head_dim)");
    detail::check(norm_group >= 0 && di % resolved_norm_group() == 0, L, ": norm_group (",
                  norm_group, ") does not divide d_inner (", di, ")");
    detail::check(dt_min >= 0.0f && dt_min <= dt_max, L, ": time step limit [", dt_min, ", ",
                  dt_max, "] is not an interval of non-negative values");
    detail::check(norm_eps > 0.0f, L, ": norm_eps must be > 0, got ", norm_eps);
  }
};

template <StorageType W = float>
struct Mamba2Weights {
  Tensor<W> in_proj;          // [d_inner + conv_dim + H, d_model]: z, xBC, dt
  Tensor<float> conv_weight;  // [conv_dim, d_conv]
  Tensor<float> conv_bias;    // [conv_dim] (zeros for a model without conv bias)
  Tensor<float> dt_bias;      // [H]
  Tensor<float> A_log;        // [H]
  Tensor<float> D;            // [H]
  Tensor<float> norm_weight;  // [d_inner]
  Tensor<W> out_proj;         // [d_model, d_inner]

  // The initialisation of the reference code: A_h = h + 1 (S4D-real, per head), Δ log-uniform in
  // [1e-3, 1e-1], D = 1; the norm weight 1 + 0.1·N(0, 1) so that it matters in tests.
  static Mamba2Weights random(const Mamba2Config& c, Random& rng) {
    const index_t di = c.resolved_d_inner(), H = c.n_heads(), cd = c.conv_dim();
    Mamba2Weights w;
    w.in_proj = detail::random_matrix<W>(c.proj_dim(), c.d_model, rng);
    const float conv_bound = 1.0f / std::sqrt(static_cast<float>(c.d_conv));
    w.conv_weight = detail::random_uniform(Shape{cd, c.d_conv}, -conv_bound, conv_bound, rng);
    w.conv_bias = detail::random_uniform(Shape{cd}, -conv_bound, conv_bound, rng);
    HostBuffer<float> dt_bias(H), a_log(H), d(H), norm(di);
    for (index_t h = 0; h < H; ++h) {
      const double dt = std::exp(rng.uniform(std::log(1e-3f), std::log(1e-1f)));
      dt_bias[h] = static_cast<float>(dt + std::log(-std::expm1(-dt)));  // softplus⁻¹(dt)
      a_log[h] = std::log(static_cast<float>(h + 1));
      d[h] = 1.0f;
    }
    for (auto& v : norm) v = 1.0f + 0.1f * rng.normal();
    w.dt_bias = Tensor<float>(Shape{H}, std::move(dt_bias));
    w.A_log = Tensor<float>(Shape{H}, std::move(a_log));
    w.D = Tensor<float>(Shape{H}, std::move(d));
    w.norm_weight = Tensor<float>(Shape{di}, std::move(norm));
    w.out_proj = detail::random_matrix<W>(c.d_model, di, rng);
    return w;
  }

  template <StorageType U>
  Mamba2Weights<U> to() const {
    return {in_proj.template to<U>(), conv_weight, conv_bias, dt_bias, A_log, D, norm_weight,
            out_proj.template to<U>()};
  }
};

// What the SSM step reads (rows of one batch, sequence after sequence): the conv's output xBC'
// [T, conv_dim] (u in columns [0, d_inner), B, then C) and the raw dt [T, H] (before its bias,
// softplus and clamp; the step may overwrite it).
struct Mamba2ScanInputs {
  ConstMatrixView<float> xbc;
  MatrixView<float> dt;
};

// The primitives a backend supplies for Mamba2Layer (cpu/mamba2.hpp). The layer's forward_batch
// owns the steps and their scratch; each primitive knows only its own step:
//   check(layer, x, y)            refuses what the backend cannot run
//   linear(layer, &Mamba2Weights<W>::proj, x, y)
//                                 y = x · projᵀ with the layer's weight
//   conv_silu(layer, states, lengths, xbc, out)
//                                 out = silu(conv_bias + causal depthwise conv of xbc), each
//                                 sequence continuing from its state's last inputs, which it
//                                 then advances
//   ssd(layer, states, lengths, Mamba2ScanInputs, y)
//                                 Δ, the recurrence from each sequence's state (advanced), and
//                                 y = S_tᵀ C_t + D ⊙ u_t, [T, d_inner]
//   gated_norm(layer, z, y)       y = RMSNorm_groups(y ⊙ silu(z)) ⊙ norm_weight, in place
template <class B, StorageType W>
struct Mamba2Kernel {
  static_assert(detail::dependent_false<B>,
                "Mamba2Layer: no kernel for this backend (include samba/samba.hpp for samba::cpu; "
                "samba::cuda has none yet)");
};

// Whether backend B has a Mamba2Kernel (cpu/mamba2.hpp sets it for samba::cpu): a checkpoint
// loader for B builds Mamba-2 blocks only where it has, and says so where it has not.
template <class B>
inline constexpr bool has_mamba2_kernel = false;

template <class B = cpu, StorageType W = float>
class Mamba2Layer {
 public:
  using backend_type = B;
  using weight_type = W;
  using Config = Mamba2Config;
  using Weights = Mamba2Weights<W>;
  using Resident = detail::resident_t<B, Mamba2Kernel<B, W>>;

  // Per-sequence state: constant size, whatever the sequence length.
  struct State {
    index_t conv_dim = 0, d_conv = 0, ssm_size = 0;
    typename B::template buffer<float> conv;  // [d_conv − 1, conv_dim]: the last xBC, oldest first
    typename B::template buffer<float> ssm;   // [H, N, P]: S
    std::size_t bytes() const { return conv.bytes() + ssm.bytes(); }
  };

  Mamba2Layer(const Config& config, Weights weights)
      : config_(config), weights_(std::move(weights)) {
    config_.validate();
    constexpr std::string_view L = "Mamba2Layer";
    const index_t di = config_.resolved_d_inner(), H = config_.n_heads(), cd = config_.conv_dim();
    check_shape(weights_.in_proj, L, "in_proj", {config_.proj_dim(), config_.d_model});
    check_shape(weights_.conv_weight, L, "conv_weight", {cd, config_.d_conv});
    check_shape(weights_.conv_bias, L, "conv_bias", {cd});
    check_shape(weights_.dt_bias, L, "dt_bias", {H});
    check_shape(weights_.A_log, L, "A_log", {H});
    check_shape(weights_.D, L, "D", {H});
    check_shape(weights_.norm_weight, L, "norm_weight", {di});
    check_shape(weights_.out_proj, L, "out_proj", {config_.d_model, di});
    HostBuffer<float> a(H);
    for (index_t h = 0; h < H; ++h) a[h] = -std::exp(weights_.A_log.data()[h]);
    A_ = Tensor<float>(Shape{H}, std::move(a));
    resident_ = detail::make_resident<Resident>(*this);
  }

  // A layer with random weights (see Weights::random), for demos, tests and benchmarks.
  static Mamba2Layer random(const Config& config, Random& rng) {
    config.validate();
    return Mamba2Layer(config, Weights::random(config, rng));
  }

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  const Resident& resident() const { return resident_; }
  const Tensor<float>& A() const { return A_; }  // −exp(A_log), [H]
  std::size_t parameter_count() const {
    const auto& w = weights_;
    return static_cast<std::size_t>(w.in_proj.numel() + w.conv_weight.numel() +
                                    w.conv_bias.numel() + w.dt_bias.numel() + w.A_log.numel() +
                                    w.D.numel() + w.norm_weight.numel() + w.out_proj.numel());
  }
  index_t d_model() const { return config_.d_model; }

  State make_state() const {
    const index_t cd = config_.conv_dim(),
                  ssm = config_.n_heads() * config_.d_state * config_.head_dim;
    return State{cd, config_.d_conv, ssm,
                 typename B::template buffer<float>((config_.d_conv - 1) * cd),
                 typename B::template buffer<float>(ssm)};
  }

  // One chunk of one sequence.
  void forward(State& state, ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::forward_one(*this, state, x, y);
  }

  // A ragged batch: sequence s owns the next lengths[s] rows of x and y. The steps are the
  // equations at the top of this file; the backend's Mamba2Kernel supplies each of them.
  void forward_batch(std::span<State* const> states, std::span<const index_t> lengths,
                     ConstMatrixView<float> x, MatrixView<float> y) const {
    using K = Mamba2Kernel<B, W>;
    detail::check_activations("Mamba2Layer", x, d_model(), y, d_model());
    detail::check_batch("Mamba2Layer", states, lengths, x.rows());
    for (State* s : states) check_state(*s);
    K::check(*this, x, y);
    const index_t T = x.rows();
    if (T == 0) return;
    const index_t di = config_.resolved_d_inner(), cd = config_.conv_dim(), pd = config_.proj_dim();
    // Scratch, in the order of use: (z, xBC, dt); xBC'; the SSM's output, normed in place.
    auto proj = detail::scratch<float, B>(T * pd);
    auto xbc = detail::scratch<float, B>(T * cd);
    auto out = detail::scratch<float, B>(T * di);
    const ConstMatrixView<float> z(proj.data(), {T, di}, {pd, 1});
    const ConstMatrixView<float> xbc_raw(proj.data() + di, {T, cd}, {pd, 1});
    const MatrixView<float> dt(proj.data() + di + cd, {T, config_.n_heads()}, {pd, 1});
    const MatrixView<float> xbc_v = xbc.template view<2>({T, cd});
    const MatrixView<float> out_v = out.template view<2>({T, di});

    K::linear(*this, &Weights::in_proj, x, proj.template view<2>({T, pd}));
    K::conv_silu(*this, states, lengths, xbc_raw, xbc_v);
    K::ssd(*this, states, lengths, Mamba2ScanInputs{xbc_v, dt}, out_v);
    K::gated_norm(*this, z, out_v);
    K::linear(*this, &Weights::out_proj, out_v, y);
  }

  void check_state(const State& s) const {
    const index_t ssm = config_.n_heads() * config_.d_state * config_.head_dim;
    detail::check(s.conv_dim == config_.conv_dim() && s.d_conv == config_.d_conv &&
                      s.ssm_size == ssm && s.conv.size() == (s.d_conv - 1) * s.conv_dim &&
                      s.ssm.size() == ssm,
                  "Mamba2Layer: state of a layer with conv_dim ", s.conv_dim, ", d_conv ", s.d_conv,
                  " and ", s.ssm_size, " SSM values used with a layer with conv_dim ",
                  config_.conv_dim(), ", d_conv ", config_.d_conv, " and ", ssm);
  }

 private:
  Config config_;
  Weights weights_;
  Tensor<float> A_;
  Resident resident_;
};

}  // namespace samba

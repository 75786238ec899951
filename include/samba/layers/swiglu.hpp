// SwiGLU MLP (Shazeer, 2020), Samba's MLP:
//
//   y = W_down · (act(W_gate · x) ⊙ (W_up · x)),   act = silu(a) = a · σ(a)
//
// and, with activation gelu_tanh, the GeGLU of Gemma and Griffin (Hugging Face's
// "gelu_pytorch_tanh"): act(a) = a/2 · (1 + tanh(√(2/π)(a + 0.044715 a³))).
//
// W_gate, W_up: [d_ff, d_model]; W_down: [d_model, d_ff]. Weights stored as W (f32, bf16 or f16),
// compute f32. With `bias` (RecurrentGemma's MLP) each projection adds its bias (f32):
//   y = W_down · (act(W_gate · x + b_gate) ⊙ (W_up · x + b_up)) + b_down.
#pragma once

#include "samba/core/backend.hpp"
#include "samba/core/concepts.hpp"
#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"
#include "samba/layers/common.hpp"
#include "samba/layers/linear_init.hpp"

namespace samba {

// The gate's activation.
enum class GateActivation { silu, gelu_tanh };

struct SwiGLUConfig {
  index_t d_model = 0;
  index_t d_ff = 0;  // the intermediate size
  GateActivation activation = GateActivation::silu;
  bool bias = false;  // b_gate, b_up, b_down

  void validate() const {
    detail::check_positive("SwiGLU", "d_model", d_model);
    detail::check_positive("SwiGLU", "d_ff", d_ff);
  }
};

template <StorageType W = float>
struct SwiGLUWeights {
  Tensor<W> gate;  // [d_ff, d_model]
  Tensor<W> up;    // [d_ff, d_model]
  Tensor<W> down;  // [d_model, d_ff]
  // With SwiGLUConfig::bias; empty otherwise.
  Tensor<float> gate_bias = {};  // [d_ff]
  Tensor<float> up_bias = {};    // [d_ff]
  Tensor<float> down_bias = {};  // [d_model]

  static SwiGLUWeights random(const SwiGLUConfig& c, Random& rng) {
    SwiGLUWeights w{detail::random_matrix<W>(c.d_ff, c.d_model, rng),
                    detail::random_matrix<W>(c.d_ff, c.d_model, rng),
                    detail::random_matrix<W>(c.d_model, c.d_ff, rng)};
    if (c.bias) {
      w.gate_bias = detail::random_uniform(Shape{c.d_ff}, -0.5f, 0.5f, rng);
      w.up_bias = detail::random_uniform(Shape{c.d_ff}, -0.5f, 0.5f, rng);
      w.down_bias = detail::random_uniform(Shape{c.d_model}, -0.5f, 0.5f, rng);
    }
    return w;
  }
  template <StorageType U>
  SwiGLUWeights<U> to() const {
    return {gate.template to<U>(),
            up.template to<U>(),
            down.template to<U>(),
            gate_bias,
            up_bias,
            down_bias};
  }
};

// The primitives a backend supplies for SwiGLU (cpu/swiglu.hpp, cuda/swiglu.cuh). The layer's
// forward owns the steps and their scratch; each primitive knows only its own step:
//   check(layer, x, y)       refuses what the backend cannot run
//   gated_up(layer, x, h)    h = act(x · W_gateᵀ + b_gate) ⊙ (x · W_upᵀ + b_up), [T, d_ff] (the
//                            biases where the layer has them)
//   linear(layer, &SwiGLUWeights<W>::down, h, y)
//                            y = h · W_downᵀ (+ b_down) with the layer's weights (the backend's
//                            copy of them)
template <class B, StorageType W>
struct SwiGLUKernel {
  static_assert(detail::dependent_false<B>,
                "SwiGLU: no kernel for this backend (include samba/samba.hpp for samba::cpu, "
                "samba/cuda.cuh for samba::cuda)");
};

template <class B = cpu, StorageType W = float>
class SwiGLU {
 public:
  using backend_type = B;
  using weight_type = W;
  using Config = SwiGLUConfig;
  using Weights = SwiGLUWeights<W>;
  using State = NoState;
  using Resident = detail::resident_t<B, SwiGLUKernel<B, W>>;

  SwiGLU(const Config& config, Weights weights) : config_(config), weights_(std::move(weights)) {
    config_.validate();
    check_shape(weights_.gate, "SwiGLU", "gate", {config_.d_ff, config_.d_model});
    check_shape(weights_.up, "SwiGLU", "up", {config_.d_ff, config_.d_model});
    check_shape(weights_.down, "SwiGLU", "down", {config_.d_model, config_.d_ff});
    const auto check_bias = [&](const Tensor<float>& b, const char* what, index_t n) {
      if (config_.bias)
        check_shape(b, "SwiGLU", what, {n});
      else
        detail::check(b.empty(), "SwiGLU: tensor '", what,
                      "' given to a layer without biases (SwiGLUConfig::bias is false)");
    };
    check_bias(weights_.gate_bias, "gate_bias", config_.d_ff);
    check_bias(weights_.up_bias, "up_bias", config_.d_ff);
    check_bias(weights_.down_bias, "down_bias", config_.d_model);
    resident_ = detail::make_resident<Resident>(*this);
  }

  // A layer with random weights (see Weights::random), for demos, tests and benchmarks.
  static SwiGLU random(const Config& config, Random& rng) {
    config.validate();
    return SwiGLU(config, Weights::random(config, rng));
  }

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  // The backend's own form of the weights (device copies on samba::cuda; nothing on the CPU).
  const Resident& resident() const { return resident_; }
  std::size_t parameter_count() const {
    const auto& w = weights_;
    return static_cast<std::size_t>(w.gate.numel() + w.up.numel() + w.down.numel() +
                                    w.gate_bias.numel() + w.up_bias.numel() + w.down_bias.numel());
  }
  index_t d_model() const { return config_.d_model; }
  State make_state() const { return {}; }

  void forward(State&, ConstMatrixView<float> x, MatrixView<float> y) const { forward(x, y); }
  void forward(ConstMatrixView<float> x, MatrixView<float> y) const {
    using K = SwiGLUKernel<B, W>;
    detail::check_activations("SwiGLU", x, d_model(), y, d_model());
    K::check(*this, x, y);
    const index_t T = x.rows(), d_ff = config_.d_ff;
    if (T == 0) return;
    auto h = detail::scratch<float, B>(T * d_ff);
    K::gated_up(*this, x, h.template view<2>({T, d_ff}));
    K::linear(*this, &Weights::down, h.template view<2>({T, d_ff}), y);
  }

 private:
  Config config_;
  Weights weights_;
  Resident resident_;
};

}  // namespace samba

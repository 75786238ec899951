// LayerNorm (Ba et al., 2016) with a bias, the norm of Phi-4-mini-flash's blocks:
//
//   y = (x − mean(x)) / sqrt(var(x) + eps) ⊙ weight + bias,   var(x) = mean((x − mean(x))²)
//
// (PyTorch's nn.LayerNorm over the last dimension: the biased variance.) Weight and bias are
// stored in f32 (2 · d_model numbers); compute is f32.
#pragma once

#include <cmath>

#include "samba/core/backend.hpp"
#include "samba/core/concepts.hpp"
#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"
#include "samba/layers/common.hpp"

namespace samba {

struct LayerNormConfig {
  index_t d_model = 0;
  float eps = 1e-5f;

  void validate() const {
    detail::check_positive("LayerNorm", "d_model", d_model);
    detail::check(eps >= 0.0f && std::isfinite(eps), "LayerNorm: eps must be finite and >= 0, got ",
                  eps);
  }
};

struct LayerNormWeights {
  Tensor<float> weight;  // [d_model]
  Tensor<float> bias;    // [d_model]

  static LayerNormWeights identity(const LayerNormConfig& c) {
    HostBuffer<float> w(c.d_model), b(c.d_model);
    for (auto& v : w) v = 1.0f;
    for (auto& v : b) v = 0.0f;
    return {Tensor<float>(Shape{c.d_model}, std::move(w)),
            Tensor<float>(Shape{c.d_model}, std::move(b))};
  }
  // Weights near 1 (1 + N(0, 0.1²)) and biases near 0 (N(0, 0.1²)): random, at a realistic scale.
  static LayerNormWeights random(const LayerNormConfig& c, Random& rng) {
    HostBuffer<float> w(c.d_model), b(c.d_model);
    for (auto& v : w) v = 1.0f + 0.1f * rng.normal();
    for (auto& v : b) v = 0.1f * rng.normal();
    return {Tensor<float>(Shape{c.d_model}, std::move(w)),
            Tensor<float>(Shape{c.d_model}, std::move(b))};
  }
};

template <class B>
struct LayerNormKernel {
  static_assert(detail::dependent_false<B>,
                "LayerNorm: no kernel for this backend (include samba/samba.hpp for samba::cpu, "
                "samba/cuda.cuh for samba::cuda)");
};

template <class B = cpu>
class LayerNorm {
 public:
  using backend_type = B;
  using Config = LayerNormConfig;
  using Weights = LayerNormWeights;
  using State = NoState;
  using Resident = detail::resident_t<B, LayerNormKernel<B>>;

  LayerNorm(const Config& config, Weights weights) : config_(config), weights_(std::move(weights)) {
    config_.validate();
    check_shape(weights_.weight, "LayerNorm", "weight", {config_.d_model});
    check_shape(weights_.bias, "LayerNorm", "bias", {config_.d_model});
    resident_ = detail::make_resident<Resident>(*this);
  }

  static LayerNorm random(const Config& config, Random& rng) {
    return LayerNorm(config, Weights::random(config, rng));
  }

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  // The backend's own form of the weights (device copies on samba::cuda; nothing on the CPU).
  const Resident& resident() const { return resident_; }
  std::size_t parameter_count() const {
    return static_cast<std::size_t>(weights_.weight.numel() + weights_.bias.numel());
  }
  index_t d_model() const { return config_.d_model; }
  State make_state() const { return {}; }

  void forward(State&, ConstMatrixView<float> x, MatrixView<float> y) const { forward(x, y); }
  void forward(ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::check_activations("LayerNorm", x, d_model(), y, d_model());
    LayerNormKernel<B>::forward(*this, x, y);
  }

 private:
  Config config_;
  Weights weights_;
  Resident resident_;
};

}  // namespace samba

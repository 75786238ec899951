// RMSNorm (Zhang & Sennrich, 2019), as used before every sub-layer of Samba:
//
//   y = x / sqrt(mean(x²) + eps) ⊙ weight
//
// The weight is always stored in f32 (it is d_model numbers); compute is f32.
#pragma once

#include <cmath>

#include "samba/core/backend.hpp"
#include "samba/core/concepts.hpp"
#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"
#include "samba/layers/common.hpp"

namespace samba {

struct RMSNormConfig {
  index_t d_model = 0;
  float eps = 1e-5f;

  void validate() const {
    detail::check_positive("RMSNorm", "d_model", d_model);
    detail::check(eps >= 0.0f && std::isfinite(eps), "RMSNorm: eps must be finite and >= 0, got ",
                  eps);
  }
};

struct RMSNormWeights {
  Tensor<float> weight;  // [d_model]

  static RMSNormWeights ones(const RMSNormConfig& c) {
    HostBuffer<float> w(c.d_model);
    for (auto& v : w) v = 1.0f;
    return {Tensor<float>(Shape{c.d_model}, std::move(w))};
  }
  // Weights near 1 (1 + N(0, 0.1²)): random, but a realistic scale.
  static RMSNormWeights random(const RMSNormConfig& c, Random& rng) {
    HostBuffer<float> w(c.d_model);
    for (auto& v : w) v = 1.0f + 0.1f * rng.normal();
    return {Tensor<float>(Shape{c.d_model}, std::move(w))};
  }
};

template <class B>
struct RMSNormKernel {
  static_assert(detail::dependent_false<B>,
                "RMSNorm: no kernel for this backend (include samba/samba.hpp for samba::cpu, "
                "samba/cuda.cuh for samba::cuda)");
};

template <class B = cpu>
class RMSNorm {
 public:
  using backend_type = B;
  using Config = RMSNormConfig;
  using Weights = RMSNormWeights;
  using State = NoState;
  using Resident = detail::resident_t<B, RMSNormKernel<B>>;

  RMSNorm(const Config& config, Weights weights) : config_(config), weights_(std::move(weights)) {
    config_.validate();
    check_shape(weights_.weight, "RMSNorm", "weight", {config_.d_model});
    resident_ = detail::make_resident<Resident>(*this);
  }

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  // The backend's own form of the weights (device copies on samba::cuda; nothing on the CPU).
  const Resident& resident() const { return resident_; }
  std::size_t parameter_count() const { return static_cast<std::size_t>(weights_.weight.numel()); }
  index_t d_model() const { return config_.d_model; }
  State make_state() const { return {}; }

  void forward(State&, ConstMatrixView<float> x, MatrixView<float> y) const { forward(x, y); }
  void forward(ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::check_activations("RMSNorm", x, d_model(), y, d_model());
    RMSNormKernel<B>::forward(*this, x, y);
  }

 private:
  Config config_;
  Weights weights_;
  Resident resident_;
};

}  // namespace samba

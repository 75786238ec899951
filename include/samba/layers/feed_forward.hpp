// FeedForward: the ungated MLP of Nemotron-H (NemotronHMLP, Nemotron's MLP):
//
//   y = W_down · act(W_up · x),   act = relu² (Hugging Face's "relu2": max(a, 0)²)
//
// W_up: [d_ff, d_model]; W_down: [d_model, d_ff]; no biases. Weights stored as W (f32, bf16 or
// f16), compute f32. The gated MLP (SwiGLU) is its own layer (layers/swiglu.hpp).
#pragma once

#include "samba/core/backend.hpp"
#include "samba/core/concepts.hpp"
#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"
#include "samba/layers/common.hpp"
#include "samba/layers/linear_init.hpp"

namespace samba {

// The activation between the two projections.
enum class FeedForwardActivation {
  relu2,  // max(a, 0)²
};

struct FeedForwardConfig {
  index_t d_model = 0;
  index_t d_ff = 0;
  FeedForwardActivation activation = FeedForwardActivation::relu2;

  void validate() const {
    detail::check_positive("FeedForward", "d_model", d_model);
    detail::check_positive("FeedForward", "d_ff", d_ff);
  }
};

template <StorageType W = float>
struct FeedForwardWeights {
  Tensor<W> up;    // [d_ff, d_model]
  Tensor<W> down;  // [d_model, d_ff]

  static FeedForwardWeights random(const FeedForwardConfig& c, Random& rng) {
    return {detail::random_matrix<W>(c.d_ff, c.d_model, rng),
            detail::random_matrix<W>(c.d_model, c.d_ff, rng)};
  }
  template <StorageType U>
  FeedForwardWeights<U> to() const {
    return {up.template to<U>(), down.template to<U>()};
  }
};

// The primitives a backend supplies for FeedForward (cpu/feed_forward.hpp):
//   check(layer, x, y)                      refuses what the backend cannot run
//   linear(layer, x, &FeedForwardWeights<W>::w, y)   y = x · wᵀ
//   activate(layer, h)                      h = act(h), in place
template <class B, StorageType W>
struct FeedForwardKernel {
  static_assert(detail::dependent_false<B>,
                "FeedForward: no kernel for this backend (include samba/samba.hpp for samba::cpu; "
                "samba::cuda has none yet)");
};

// Whether backend B has a FeedForwardKernel (cpu/feed_forward.hpp sets it for samba::cpu).
template <class B>
inline constexpr bool has_feed_forward_kernel = false;

template <class B = cpu, StorageType W = float>
class FeedForward {
 public:
  using backend_type = B;
  using weight_type = W;
  using Config = FeedForwardConfig;
  using Weights = FeedForwardWeights<W>;
  using State = NoState;
  using Resident = detail::resident_t<B, FeedForwardKernel<B, W>>;

  FeedForward(const Config& config, Weights weights)
      : config_(config), weights_(std::move(weights)) {
    config_.validate();
    check_shape(weights_.up, "FeedForward", "up", {config_.d_ff, config_.d_model});
    check_shape(weights_.down, "FeedForward", "down", {config_.d_model, config_.d_ff});
    resident_ = detail::make_resident<Resident>(*this);
  }

  static FeedForward random(const Config& config, Random& rng) {
    config.validate();
    return FeedForward(config, Weights::random(config, rng));
  }

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  const Resident& resident() const { return resident_; }
  std::size_t parameter_count() const {
    return static_cast<std::size_t>(weights_.up.numel() + weights_.down.numel());
  }
  index_t d_model() const { return config_.d_model; }
  State make_state() const { return {}; }

  void forward(State&, ConstMatrixView<float> x, MatrixView<float> y) const { forward(x, y); }
  void forward(ConstMatrixView<float> x, MatrixView<float> y) const {
    using K = FeedForwardKernel<B, W>;
    detail::check_activations("FeedForward", x, d_model(), y, d_model());
    K::check(*this, x, y);
    const index_t T = x.rows(), d_ff = config_.d_ff;
    if (T == 0) return;
    auto h = detail::scratch<float, B>(T * d_ff);
    const MatrixView<float> hv = h.template view<2>({T, d_ff});
    K::linear(*this, x, &Weights::up, hv);
    K::activate(*this, hv);
    K::linear(*this, hv, &Weights::down, y);
  }

 private:
  Config config_;
  Weights weights_;
  Resident resident_;
};

}  // namespace samba

// The Gated Memory Unit (GMU) of SambaY (Ren et al. 2025, "Decoder-Hybrid-Decoder Architecture for
// Efficient Reasoning with Long Generation"; Phi-4-mini-flash's cross-decoder): a layer that reads
// a memory m [T, d_inner] produced earlier in the same forward — the scan output, before its gate,
// of the model's memory Mamba layer — and gates it with its own input:
//
//   y_t = W_out · (silu(W_in · x_t) ⊙ m_t)        W_in [d_inner, d_model], W_out [d_model, d_inner]
//
// No biases, no state. It is not a samba::Layer: its forward needs the memory beside x (the
// cross-decoder that holds it passes it; stack/cross_decoder.hpp).
#pragma once

#include "samba/core/backend.hpp"
#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"
#include "samba/layers/common.hpp"
#include "samba/layers/linear_init.hpp"

namespace samba {

struct GMUConfig {
  index_t d_model = 0;
  index_t d_inner = 0;

  void validate() const {
    detail::check_positive("GatedMemoryUnit", "d_model", d_model);
    detail::check_positive("GatedMemoryUnit", "d_inner", d_inner);
  }
};

template <StorageType W = float>
struct GMUWeights {
  Tensor<W> in_proj;   // [d_inner, d_model]
  Tensor<W> out_proj;  // [d_model, d_inner]

  static GMUWeights random(const GMUConfig& c, Random& rng) {
    return {detail::random_matrix<W>(c.d_inner, c.d_model, rng),
            detail::random_matrix<W>(c.d_model, c.d_inner, rng)};
  }
  template <StorageType U>
  GMUWeights<U> to() const {
    return {in_proj.template to<U>(), out_proj.template to<U>()};
  }
};

// The primitives a backend supplies for the GMU (cpu/gated_memory.hpp, cuda/gated_memory.cuh):
//   check(layer, x, y)                            refuses what the backend cannot run
//   linear(layer, &GMUWeights<W>::proj, x, y)   y = x · projᵀ
//   gate(g, memory)                               g = silu(g) ⊙ memory
template <class B, StorageType W>
struct GMUKernel {
  static_assert(detail::dependent_false<B>,
                "GatedMemoryUnit: no kernel for this backend (include samba/samba.hpp for "
                "samba::cpu, samba/cuda.cuh for samba::cuda)");
};

template <class B = cpu, StorageType W = float>
class GatedMemoryUnit {
 public:
  using backend_type = B;
  using weight_type = W;
  using Config = GMUConfig;
  using Weights = GMUWeights<W>;
  using Resident = detail::resident_t<B, GMUKernel<B, W>>;

  GatedMemoryUnit(const Config& config, Weights weights)
      : config_(config), weights_(std::move(weights)) {
    config_.validate();
    check_shape(weights_.in_proj, "GatedMemoryUnit", "in_proj", {config_.d_inner, config_.d_model});
    check_shape(weights_.out_proj, "GatedMemoryUnit", "out_proj",
                {config_.d_model, config_.d_inner});
    resident_ = detail::make_resident<Resident>(*this);
  }

  static GatedMemoryUnit random(const Config& config, Random& rng) {
    config.validate();
    return GatedMemoryUnit(config, Weights::random(config, rng));
  }

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  // The backend's own form of the weights (device copies on samba::cuda; nothing on the CPU).
  const Resident& resident() const { return resident_; }
  index_t d_model() const { return config_.d_model; }
  std::size_t parameter_count() const {
    return static_cast<std::size_t>(weights_.in_proj.numel() + weights_.out_proj.numel());
  }

  // x, y [T, d_model]; memory [T, d_inner], row t the memory of x's token t.
  void forward(ConstMatrixView<float> x, ConstMatrixView<float> memory, MatrixView<float> y) const {
    using K = GMUKernel<B, W>;
    detail::check_activations("GatedMemoryUnit", x, d_model(), y, d_model());
    detail::check(memory.rows() == x.rows() && memory.cols() == config_.d_inner &&
                      (memory.rows() == 0 || memory.stride(1) == 1),
                  "GatedMemoryUnit: memory is ", memory.dyn_shape(), ", expected [", x.rows(), ", ",
                  config_.d_inner, "] with contiguous rows");
    K::check(*this, x, y);
    const index_t T = x.rows();
    if (T == 0) return;
    auto g = detail::scratch<float, B>(T * config_.d_inner);
    const MatrixView<float> g_v = g.template view<2>({T, config_.d_inner});
    K::linear(*this, &Weights::in_proj, x, g_v);
    K::gate(g_v, memory);
    K::linear(*this, &Weights::out_proj, g_v, y);
  }

 private:
  Config config_;
  Weights weights_;
  Resident resident_;
};

}  // namespace samba

// PreNorm<L, Norm>: the pre-norm residual block around any layer L,
//
//   y = x + L(Norm(x))
//
// Norm is RMSNorm unless a model says otherwise (LayerNorm with a bias for Phi-4-mini-flash). It is
// itself a Layer (same State as L), so blocks compose like layers.
#pragma once

#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "samba/core/backend.hpp"
#include "samba/core/concepts.hpp"
#include "samba/core/random.hpp"
#include "samba/layers/layer_norm.hpp"
#include "samba/layers/rmsnorm.hpp"
#include "samba/stack/batch.hpp"

namespace samba {

// The primitives a backend supplies for PreNorm (cpu/pre_norm.hpp, cuda/pre_norm.cuh):
//   check(x, y)          refuses activations the backend cannot read (e.g. host memory on CUDA)
//   add_residual(x, y)   y += x
template <class B>
struct PreNormKernel {
  static_assert(detail::dependent_false<B>,
                "PreNorm: no kernel for this backend (include samba/samba.hpp for samba::cpu, "
                "samba/cuda.cuh for samba::cuda)");
};

template <Layer L, class N = RMSNorm<typename L::backend_type>>
class PreNorm {
 public:
  using layer_type = L;
  using backend_type = typename L::backend_type;
  using State = typename L::State;
  using Norm = N;
  static_assert(std::is_same_v<typename Norm::backend_type, backend_type>,
                "PreNorm: the norm and the layer must run on the same backend");
  struct Config {
    typename L::Config layer;
    float norm_eps = 1e-5f;
  };

  PreNorm(Norm norm, L layer) : norm_(std::move(norm)), layer_(std::move(layer)) {
    detail::check(norm_.d_model() == layer_.d_model(), "PreNorm: norm has d_model ",
                  norm_.d_model(), " but the layer has d_model ", layer_.d_model());
  }

  // Random weights, for layers that can make random weights of their own (L::random).
  static PreNorm random(const Config& config, Random& rng) requires
      requires(const typename L::Config& c) {
    L::random(c, rng);
  }
  {
    L layer = L::random(config.layer, rng);
    const typename Norm::Config nc{layer.d_model(), config.norm_eps};
    return PreNorm(Norm(nc, Norm::Weights::random(nc, rng)), std::move(layer));
  }

  const Norm& norm() const { return norm_; }
  const L& layer() const { return layer_; }
  index_t d_model() const { return layer_.d_model(); }
  // Parameters of the norm and of the layer (a layer without parameter_count() counts as 0).
  std::size_t parameter_count() const {
    std::size_t n = norm_.parameter_count();
    if constexpr (requires { layer_.parameter_count(); }) n += layer_.parameter_count();
    return n;
  }
  State make_state() const { return layer_.make_state(); }

  void forward(State& state, ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::forward_one(*this, state, x, y);
  }

  // A ragged batch (see stack/batch.hpp): the norm and the residual run over all rows at once;
  // y = x + layer(norm(x)).
  void forward_batch(std::span<State* const> states, std::span<const index_t> lengths,
                     ConstMatrixView<float> x, MatrixView<float> y) const {
    using K = PreNormKernel<backend_type>;
    detail::check_activations("PreNorm", x, d_model(), y, d_model());
    detail::check_batch("PreNorm", states, lengths, x.rows());
    K::check(x, y);
    const index_t T = x.rows(), d = d_model();
    auto normed = detail::scratch<float, backend_type>(T * d);
    const MatrixView<float> normed_v = normed.template view<2>({T, d});
    if (T > 0) norm_.forward(x, normed_v);
    samba::forward_batch(layer_, states, lengths, ConstMatrixView<float>(normed_v), y);
    if (T > 0) K::add_residual(x, y);
  }

 private:
  Norm norm_;
  L layer_;
};

}  // namespace samba

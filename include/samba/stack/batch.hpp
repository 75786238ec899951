// Ragged batches through any layer.
//
// A batch is several sequences processed in one call: sequence s owns the next lengths[s] rows of
// x and y and carries its own state (for batched decode, every length is 1). Library layers with
// state implement forward_batch themselves (projections over all rows at once, the sequence mixer
// per sequence); samba::forward_batch gives every other Layer the same interface.
#pragma once

#include <span>
#include <type_traits>

#include "samba/core/concepts.hpp"
#include "samba/layers/common.hpp"

namespace samba {

template <class L>
concept BatchedLayer = Layer<L> &&
    requires(const L& layer, std::span<typename L::State* const> states,
             std::span<const index_t> lengths, ConstMatrixView<float> x, MatrixView<float> y) {
  { layer.forward_batch(states, lengths, x, y) } -> std::same_as<void>;
};

// The layer's own forward_batch if it has one; one call over all rows for a stateless layer; one
// call per sequence otherwise.
template <Layer L>
void forward_batch(const L& layer, std::span<typename L::State* const> states,
                   std::span<const index_t> lengths, ConstMatrixView<float> x,
                   MatrixView<float> y) {
  if constexpr (BatchedLayer<L>) {
    layer.forward_batch(states, lengths, x, y);
  } else {
    detail::check_batch("forward_batch", states, lengths, x.rows());
    detail::check(x.rows() == y.rows(), "forward_batch: input has ", x.rows(),
                  " rows but output has ", y.rows());
    if constexpr (std::is_same_v<typename L::State, NoState>) {
      NoState none;
      layer.forward(none, x, y);
    } else {
      index_t r0 = 0;
      for (std::size_t s = 0; s < states.size(); ++s) {
        layer.forward(*states[s], x.slice(r0, lengths[s]), y.slice(r0, lengths[s]));
        r0 += lengths[s];
      }
    }
  }
}

}  // namespace samba

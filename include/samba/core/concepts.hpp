// The named concepts of the library: what a backend and a layer must provide.
#pragma once

#include <concepts>
#include <cstddef>
#include <string_view>
#include <utility>

#include "samba/core/backend.hpp"
#include "samba/core/tensor.hpp"

namespace samba {

// A backend policy: a name and the buffer type its memory lives in.
template <class B>
concept Backend = requires {
  { B::name } -> std::convertible_to<std::string_view>;
  typename B::template buffer<float>;
};

// Per-sequence state of a layer: copyable (a copy is a snapshot) and able to report its size.
template <class S>
concept LayerState = std::copyable<S> && requires(const S& s) {
  { s.bytes() } -> std::convertible_to<std::size_t>;
};

// A layer maps activations [T, d_model] → [T, d_model] for one sequence, carrying whatever it needs
// between calls in a State the caller owns. The layer itself is immutable (weights only), so one
// layer serves many sequences and threads; forward() is const.
//
//   L::Config, L::State, L::backend_type    types
//   layer.d_model()                          width of input and output rows
//   layer.make_state()                       a fresh state for a new sequence (position 0)
//   layer.forward(state, x, y)               x: [T, d_model] in, y: [T, d_model] out, T ≥ 0;
//                                            any split of a sequence into chunks gives the same y
template <class L>
concept Layer = requires(const L& layer, typename L::State& state, ConstMatrixView<float> x,
                         MatrixView<float> y) {
  typename L::Config;
  typename L::backend_type;
  requires Backend<typename L::backend_type>;
  requires LayerState<typename L::State>;
  { layer.d_model() } -> std::convertible_to<index_t>;
  { layer.make_state() } -> std::same_as<typename L::State>;
  { layer.forward(state, x, y) } -> std::same_as<void>;
};

// The state of layers that keep nothing between calls (RMSNorm, SwiGLU).
struct NoState {
  static constexpr std::size_t bytes() { return 0; }
  friend bool operator==(const NoState&, const NoState&) = default;
};

}  // namespace samba

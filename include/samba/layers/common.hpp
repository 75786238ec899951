// Checks shared by every layer's forward(): the activation contract of the Layer concept.
#pragma once

#include <span>
#include <string_view>

#include "samba/core/error.hpp"
#include "samba/core/tensor.hpp"

namespace samba::detail {

// x: [T, d_in], y: [T, d_out], rows contiguous, T equal, no overlap between x and y.
inline void check_activations(std::string_view layer, ConstMatrixView<float> x, index_t d_in,
                              MatrixView<float> y, index_t d_out) {
  check(x.cols() == d_in, layer, ": input has ", x.cols(), " features per token, expected ", d_in);
  check(y.cols() == d_out, layer, ": output has ", y.cols(), " features per token, expected ",
        d_out);
  check(x.rows() == y.rows(), layer, ": input has ", x.rows(), " tokens but output has ", y.rows());
  check(x.rows() == 0 || (x.stride(1) == 1 && x.stride(0) >= d_in), layer,
        ": input rows must be contiguous (stride ", x.stride(1), ")");
  check(y.rows() == 0 || (y.stride(1) == 1 && y.stride(0) >= d_out), layer,
        ": output rows must be contiguous (stride ", y.stride(1), ")");
  if (x.rows() > 0) {
    const float* xb = x.data();
    const float* xe = x.row(x.rows() - 1) + d_in;
    const float* yb = y.data();
    const float* ye = y.row(y.rows() - 1) + d_out;
    check(xe <= yb || ye <= xb, layer, ": input and output must not overlap");
  }
}

// A ragged batch: sequence s owns the next lengths[s] rows of x and y, in order, and carries its
// own state. Checks that the pieces fit together and that no state appears twice.
template <class State>
void check_batch(std::string_view layer, std::span<State* const> states,
                 std::span<const index_t> lengths, index_t rows) {
  check(states.size() == lengths.size(), layer, ": a batch of ", states.size(), " states but ",
        lengths.size(), " sequence lengths");
  index_t total = 0;
  for (std::size_t s = 0; s < states.size(); ++s) {
    check(states[s] != nullptr, layer, ": the state of sequence ", s, " is null");
    check(lengths[s] >= 0, layer, ": sequence ", s, " has negative length ", lengths[s]);
    total += lengths[s];
    for (std::size_t r = 0; r < s; ++r)
      check(states[r] != states[s], layer, ": sequences ", r, " and ", s,
            " of a batch share one state");
  }
  check(total == rows, layer, ": the sequence lengths add up to ", total,
        " tokens but the input has ", rows);
}

// forward(state, x, y) of a layer that implements forward_batch: a batch of one sequence.
template <class L>
void forward_one(const L& layer, typename L::State& state, ConstMatrixView<float> x,
                 MatrixView<float> y) {
  typename L::State* states[] = {&state};
  const index_t lengths[] = {x.rows()};
  layer.forward_batch(std::span<typename L::State* const>(states),
                      std::span<const index_t>(lengths), x, y);
}

inline void check_positive(std::string_view layer, std::string_view what, index_t value) {
  check(value > 0, layer, ": ", what, " must be > 0, got ", value);
}

}  // namespace samba::detail

// Walking a ragged batch: sequence s owns the next lengths[s] rows.
#pragma once

#include <span>

#include "samba/core/tensor.hpp"

namespace samba::cpu_detail {

// Calls f(state, first_row, rows) for every sequence of the batch that has rows.
template <class State, class F>
void for_each_sequence(std::span<State* const> states, std::span<const index_t> lengths, F&& f) {
  index_t r0 = 0;
  for (std::size_t s = 0; s < states.size(); ++s) {
    if (lengths[s] > 0) f(*states[s], r0, lengths[s]);
    r0 += lengths[s];
  }
}

}  // namespace samba::cpu_detail

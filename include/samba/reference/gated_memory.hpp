// Reference Gated Memory Unit: y = W_out · (silu(W_in · x) ⊙ m), in double.
#pragma once

#include "samba/layers/gated_memory.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

template <class B, StorageType W>
Matrix forward(const GatedMemoryUnit<B, W>& layer, const Matrix& x, const Matrix& memory) {
  Matrix g = linear(x, layer.weights().in_proj);
  for (index_t t = 0; t < g.rows; ++t)
    for (index_t i = 0; i < g.cols; ++i) g(t, i) = silu(g(t, i)) * memory(t, i);
  return linear(g, layer.weights().out_proj);
}

}  // namespace samba::reference

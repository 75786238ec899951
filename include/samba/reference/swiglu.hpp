// Reference SwiGLU: y = W_down · (act(W_gate · x) ⊙ (W_up · x)), act silu or gelu_tanh (GeGLU).
#pragma once

#include "samba/layers/swiglu.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

template <StorageType W>
Matrix swiglu(const SwiGLUConfig& c, const SwiGLUWeights<W>& w, const Matrix& x) {
  Matrix g = linear(x, w.gate);
  const Matrix u = linear(x, w.up);
  const bool gelu = c.activation == GateActivation::gelu_tanh;
  for (std::size_t i = 0; i < g.data.size(); ++i)
    g.data[i] = (gelu ? gelu_tanh(g.data[i]) : silu(g.data[i])) * u.data[i];
  return linear(g, w.down);
}

template <class B, StorageType W>
Matrix forward(const SwiGLU<B, W>& layer, const Matrix& x) {
  return swiglu(layer.config(), layer.weights(), x);
}

}  // namespace samba::reference

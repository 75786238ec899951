// Reference SwiGLU: y = W_down · (act(W_gate · x + b_gate) ⊙ (W_up · x + b_up)) + b_down, act silu
// or gelu_tanh (GeGLU), the biases where the layer has them.
#pragma once

#include "samba/layers/swiglu.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

template <StorageType W>
Matrix swiglu(const SwiGLUConfig& c, const SwiGLUWeights<W>& w, const Matrix& x) {
  Matrix g = linear(x, w.gate, w.gate_bias);
  const Matrix u = linear(x, w.up, w.up_bias);
  const bool gelu = c.activation == GateActivation::gelu_tanh;
  for (std::size_t i = 0; i < g.data.size(); ++i)
    g.data[i] = (gelu ? gelu_tanh(g.data[i]) : silu(g.data[i])) * u.data[i];
  return linear(g, w.down, w.down_bias);
}

template <class B, StorageType W>
Matrix forward(const SwiGLU<B, W>& layer, const Matrix& x) {
  return swiglu(layer.config(), layer.weights(), x);
}

}  // namespace samba::reference

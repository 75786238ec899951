// Reference RGLRULayer over a whole sequence from a zero state at position 0 (equations in
// layers/rglru.hpp), step by step in double.
#pragma once

#include <cmath>
#include <vector>

#include "samba/layers/rglru.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

template <StorageType W>
Matrix rglru(const RGLRUConfig& c, const RGLRUWeights<W>& w, const Matrix& x) {
  const index_t T = x.rows, width = c.width(), bw = c.block_width();
  Matrix proj = linear(x, w.in_proj, w.in_bias);  // y, then x
  const Matrix u = causal_conv(proj, width, w.conv_weight, w.conv_bias, /*apply_silu=*/false);
  Matrix out(T, width);
  std::vector<double> h(static_cast<std::size_t>(width), 0.0);
  for (index_t t = 0; t < T; ++t)
    for (index_t i = 0; i < width; ++i) {
      const index_t b = i / bw, j = i % bw;
      double gi = at(w.input_gate_bias, b * bw + j), gr = at(w.recurrent_gate_bias, b * bw + j);
      for (index_t k = 0; k < bw; ++k) {
        gi += u(t, b * bw + k) * at(w.input_gate, (b * bw + k) * bw + j);
        gr += u(t, b * bw + k) * at(w.recurrent_gate, (b * bw + k) * bw + j);
      }
      const double log_a =
          -static_cast<double>(c.c) * sigmoid(gr) * softplus(at(w.recurrent_param, i));
      const double a = t == 0 ? 0.0 : std::exp(log_a);
      const double m = t == 0 ? 1.0 : std::sqrt(1.0 - std::exp(2.0 * log_a));
      double& hi = h[static_cast<std::size_t>(i)];
      hi = a * hi + m * sigmoid(gi) * u(t, i);
      out(t, i) = hi * gelu_tanh(proj(t, i));
    }
  return linear(out, w.out_proj, w.out_bias);
}

template <class B, StorageType W>
Matrix forward(const RGLRULayer<B, W>& layer, const Matrix& x) {
  return rglru(layer.config(), layer.weights(), x);
}

}  // namespace samba::reference

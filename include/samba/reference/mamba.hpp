// Reference Mamba-1 mixer over a whole sequence from a zero state (equations in layers/mamba.hpp).
#pragma once

#include <cmath>

#include "samba/layers/mamba.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

// memory (if given) receives the scan's output before the gate, C · h + D ⊙ u' [T, d_inner].
template <StorageType W>
Matrix mamba(const MambaConfig& c, const MambaWeights<W>& w, const Matrix& x,
             Matrix* memory = nullptr) {
  const index_t T = x.rows, di = c.d_inner(), n = c.d_state, r = c.resolved_dt_rank();
  const Matrix xz = linear(x, w.in_proj);  // [T, 2·d_inner]: u then z
  const Matrix u = causal_conv_silu(xz, 0, w.conv_weight, w.conv_bias);  // over u

  const Matrix xdbl = linear(u, w.x_proj);  // [T, dt_rank + 2·d_state]: δ, B, C
  Matrix delta_low(T, r);
  for (index_t t = 0; t < T; ++t)
    for (index_t i = 0; i < r; ++i) delta_low(t, i) = xdbl(t, i);
  Matrix delta = linear(delta_low, w.dt_proj);
  for (index_t t = 0; t < T; ++t)
    for (index_t ch = 0; ch < di; ++ch) delta(t, ch) = softplus(delta(t, ch) + at(w.dt_bias, ch));

  Matrix y(T, di);
  if (memory) *memory = Matrix(T, di);
  std::vector<double> h(static_cast<std::size_t>(di * n), 0.0);
  for (index_t t = 0; t < T; ++t)
    for (index_t ch = 0; ch < di; ++ch) {
      double acc = 0.0;
      for (index_t s = 0; s < n; ++s) {
        const double A = -std::exp(at(w.A_log, ch, s));
        const double B = xdbl(t, r + s), C = xdbl(t, r + n + s);
        double& hs = h[static_cast<std::size_t>(ch * n + s)];
        hs = std::exp(delta(t, ch) * A) * hs + delta(t, ch) * B * u(t, ch);
        acc += C * hs;
      }
      const double ungated = acc + at(w.D, ch) * u(t, ch);
      if (memory) (*memory)(t, ch) = ungated;
      y(t, ch) = ungated * silu(xz(t, di + ch));
    }
  return linear(y, w.out_proj);
}

template <class B, StorageType W>
Matrix forward(const MambaLayer<B, W>& layer, const Matrix& x) {
  return mamba(layer.config(), layer.weights(), x);
}

}  // namespace samba::reference

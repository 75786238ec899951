// Reference Mamba-2 mixer over a whole sequence from a zero state (equations in
// layers/mamba2.hpp), step by step in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "samba/layers/mamba2.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

template <StorageType W>
Matrix mamba2(const Mamba2Config& c, const Mamba2Weights<W>& w, const Matrix& x) {
  const index_t T = x.rows, di = c.resolved_d_inner(), N = c.d_state, P = c.head_dim;
  const index_t H = c.n_heads(), G = c.n_groups, cd = c.conv_dim();
  const Matrix proj = linear(x, w.in_proj);  // [T, d_inner + conv_dim + H]: z, xBC, dt
  const Matrix xbc = causal_conv_silu(proj, di, w.conv_weight, w.conv_bias);  // over xBC

  // The SSM, head by head: S[h] ∈ R^{N×P}.
  Matrix y(T, di);
  std::vector<double> S(static_cast<std::size_t>(H * N * P), 0.0);
  for (index_t t = 0; t < T; ++t)
    for (index_t h = 0; h < H; ++h) {
      const index_t g = h / (H / G);
      const double dt = std::clamp(softplus(proj(t, di + cd + h) + at(w.dt_bias, h)),
                                   static_cast<double>(c.dt_min), static_cast<double>(c.dt_max));
      const double decay = std::exp(dt * -std::exp(at(w.A_log, h)));
      for (index_t p = 0; p < P; ++p) {
        const double u = xbc(t, h * P + p);
        double acc = 0.0;
        for (index_t n = 0; n < N; ++n) {
          double& s = S[static_cast<std::size_t>((h * N + n) * P + p)];
          s = decay * s + xbc(t, di + g * N + n) * dt * u;
          acc += xbc(t, di + G * N + g * N + n) * s;
        }
        y(t, h * P + p) = acc + at(w.D, h) * u;
      }
    }

  // Gated RMSNorm over groups of norm_group channels.
  const index_t ng = c.resolved_norm_group();
  for (index_t t = 0; t < T; ++t)
    for (index_t g0 = 0; g0 < di; g0 += ng) {
      double ss = 0.0;
      for (index_t i = g0; i < g0 + ng; ++i) {
        y(t, i) *= silu(proj(t, i));
        ss += y(t, i) * y(t, i);
      }
      const double scale = 1.0 / std::sqrt(ss / static_cast<double>(ng) + c.norm_eps);
      for (index_t i = g0; i < g0 + ng; ++i) y(t, i) *= scale * at(w.norm_weight, i);
    }
  return linear(y, w.out_proj);
}

template <class B, StorageType W>
Matrix forward(const Mamba2Layer<B, W>& layer, const Matrix& x) {
  return mamba2(layer.config(), layer.weights(), x);
}

}  // namespace samba::reference

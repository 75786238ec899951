// Reference GatedLinearAttention over a whole sequence from a zero state (equations in
// layers/gla.hpp), step by step in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "samba/layers/gla.hpp"
#include "samba/reference/linear_attention.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

template <StorageType W>
Matrix gla(const GLAConfig& c, const GLAWeights<W>& w, const Matrix& x) {
  const index_t T = x.rows, H = c.n_heads, K = c.head_k_dim(), V = c.head_v_dim();
  const index_t rep = H / c.resolved_n_kv_heads(), kd = c.resolved_key_dim();
  const index_t kvk = c.kv_key_dim(), qkv = c.qkv_dim(), vd = c.resolved_value_dim();
  const Matrix proj = linear(x, w.in_proj);  // q, k, v, g, gk_down
  const Matrix in = c.conv_size > 0 ? causal_conv_silu(proj, 0, w.conv_weight, w.conv_bias) : proj;
  Matrix low(T, c.gate_rank);
  for (index_t t = 0; t < T; ++t)
    for (index_t r = 0; r < c.gate_rank; ++r)
      low(t, r) = proj(t, qkv + (c.output_gate ? vd : 0) + r);
  const Matrix gate_logits = linear(low, w.gk_up);

  Matrix o(T, vd);
  std::vector<double> S(static_cast<std::size_t>(H * K * V), 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(K));
  for (index_t t = 0; t < T; ++t)
    for (index_t h = 0; h < H; ++h) {
      const index_t j = h / rep;  // the kv head
      for (index_t a = 0; a < K; ++a) {
        const double alpha =
            std::max(logsigmoid(gate_logits(t, j * K + a) + at(w.gk_bias, j * K + a)) /
                         static_cast<double>(c.gate_logit_normalizer),
                     static_cast<double>(c.clamp_min));
        const double decay = std::exp(alpha), k = in(t, kd + j * K + a);
        const double q = in(t, h * K + a) * scale;
        for (index_t e = 0; e < V; ++e) {
          double& s = S[static_cast<std::size_t>((h * K + a) * V + e)];
          s = decay * s + k * in(t, kd + kvk + j * V + e);
          o(t, h * V + e) += q * s;
        }
      }
    }

  head_norm_gate(o, proj, qkv, c.output_gate, w.norm_weight, H, V, c.norm_eps);
  return linear(o, w.o_proj);
}

template <class B, StorageType W>
Matrix forward(const GatedLinearAttention<B, W>& layer, const Matrix& x) {
  return gla(layer.config(), layer.weights(), x);
}

}  // namespace samba::reference

// Reference MultiScaleRetention over a whole sequence from a zero state (equations in
// layers/retention.hpp), step by step in double.
#pragma once

#include <cmath>
#include <vector>

#include "samba/layers/retention.hpp"
#include "samba/reference/attention.hpp"
#include "samba/reference/linear_attention.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

template <StorageType W>
Matrix retention(const RetentionConfig& c, const RetentionWeights<W>& w, const Matrix& x) {
  const index_t T = x.rows, H = c.n_heads, Hkv = c.resolved_n_kv_heads(), K = c.head_k_dim();
  const index_t V = c.head_v_dim(), rep = H / Hkv, kd = c.resolved_key_dim();
  const index_t kvk = c.kv_key_dim();
  const Matrix proj = linear(x, w.in_proj);  // q, k, v, g
  const Matrix in = c.conv_size > 0 ? causal_conv_silu(proj, 0, w.conv_weight, w.conv_bias) : proj;
  Matrix q(T, kd), k(T, kvk);
  for (index_t t = 0; t < T; ++t) {
    for (index_t i = 0; i < kd; ++i) q(t, i) = in(t, i);
    for (index_t i = 0; i < kvk; ++i) k(t, i) = in(t, kd + i);
  }
  rope(q, H, K, K, c.rope_base);
  rope(k, Hkv, K, K, c.rope_base);

  Matrix o(T, c.resolved_value_dim());
  std::vector<double> S(static_cast<std::size_t>(H * K * V), 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(K));
  for (index_t t = 0; t < T; ++t)
    for (index_t h = 0; h < H; ++h) {
      const index_t j = h / rep;  // the kv head
      const double gamma = 1.0 - std::pow(2.0, -5.0 - static_cast<double>(h));
      for (index_t a = 0; a < K; ++a)
        for (index_t e = 0; e < V; ++e) {
          double& s = S[static_cast<std::size_t>((h * K + a) * V + e)];
          s = gamma * s + k(t, j * K + a) * in(t, kd + kvk + j * V + e);
          o(t, h * V + e) += q(t, h * K + a) * scale * s;
        }
    }
  head_norm_gate(o, proj, c.qkv_dim(), c.output_gate, w.norm_weight, H, V, c.norm_eps);
  return linear(o, w.o_proj);
}

template <class B, StorageType W>
Matrix forward(const MultiScaleRetention<B, W>& layer, const Matrix& x) {
  return retention(layer.config(), layer.weights(), x);
}

}  // namespace samba::reference

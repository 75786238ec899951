// Reference attention (GQA, rotate-half RoPE, window W) over a whole sequence from position 0:
// query i sees keys max(0, i − W + 1) … i. Causal attention is W = ∞.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "samba/layers/attention.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

// Rotate-half RoPE on the first rotary_dims dims of each of n_heads heads of row t (position t).
inline void rope(Matrix& m, index_t n_heads, index_t head_dim, index_t rotary_dims, double base) {
  const index_t half = rotary_dims / 2;
  for (index_t t = 0; t < m.rows; ++t)
    for (index_t h = 0; h < n_heads; ++h)
      for (index_t i = 0; i < half; ++i) {
        const double theta = static_cast<double>(t) * math::rope_inv_freq(base, i, rotary_dims);
        const double a = m(t, h * head_dim + i), b = m(t, h * head_dim + i + half);
        m(t, h * head_dim + i) = a * std::cos(theta) - b * std::sin(theta);
        m(t, h * head_dim + i + half) = b * std::cos(theta) + a * std::sin(theta);
      }
}

template <StorageType W>
Matrix attention(const AttentionConfig& c, const AttentionWeights<W>& w, index_t window,
                 const Matrix& x) {
  const index_t T = x.rows, nh = c.n_heads, nkv = c.resolved_n_kv_heads(),
                hd = c.resolved_head_dim();
  Matrix q = linear(x, w.wq), k = linear(x, w.wk);
  const Matrix v = linear(x, w.wv);
  rope(q, nh, hd, c.resolved_rotary_dims(), c.rope_base);
  rope(k, nkv, hd, c.resolved_rotary_dims(), c.rope_base);

  Matrix o(T, nh * hd);
  std::vector<double> p(static_cast<std::size_t>(T));
  for (index_t h = 0; h < nh; ++h) {
    const index_t g = h / (nh / nkv);
    for (index_t i = 0; i < T; ++i) {
      const index_t lo = window >= i + 1 ? 0 : i - window + 1;
      double m = -std::numeric_limits<double>::infinity(), sum = 0.0;
      for (index_t j = lo; j <= i; ++j) {
        double s = 0.0;
        for (index_t d = 0; d < hd; ++d) s += q(i, h * hd + d) * k(j, g * hd + d);
        p[static_cast<std::size_t>(j)] = s / std::sqrt(static_cast<double>(hd));
        m = std::max(m, p[static_cast<std::size_t>(j)]);
      }
      for (index_t j = lo; j <= i; ++j)
        sum += (p[static_cast<std::size_t>(j)] = std::exp(p[static_cast<std::size_t>(j)] - m));
      for (index_t d = 0; d < hd; ++d) {
        double acc = 0.0;
        for (index_t j = lo; j <= i; ++j) acc += p[static_cast<std::size_t>(j)] * v(j, g * hd + d);
        o(i, h * hd + d) = acc / sum;
      }
    }
  }
  return linear(o, w.wo, w.bo);
}

template <class B, StorageType W, AttentionKind Kind>
Matrix forward(const Attention<B, W, Kind>& layer, const Matrix& x) {
  return attention(layer.config(), layer.weights(), layer.window(), x);
}

}  // namespace samba::reference

// Reference differential attention over a whole sequence from position 0, in double, by the
// formulas of layers/differential_attention.hpp: two softmax maps per head pair, each over its own
// keys, both applied to the pair's 2·head_dim-wide values (no paired-head trick).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "samba/layers/differential_attention.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

// λ in double from the weights (the layer keeps it as a float).
template <StorageType W>
double diff_lambda(const DiffAttentionConfig& c, const DiffAttentionWeights<W>& w) {
  double d1 = 0.0, d2 = 0.0;
  for (index_t i = 0; i < c.resolved_head_dim(); ++i) {
    d1 += at(w.lambda_q1, i) * at(w.lambda_k1, i);
    d2 += at(w.lambda_q2, i) * at(w.lambda_k2, i);
  }
  return std::exp(d1) - std::exp(d2) + c.lambda_init();
}

// q [T, n_heads · d]; k, v [T, n_kv_heads · d] (all positions from 0); query i sees keys
// max(0, i − window + 1) … i. Returns the normalised pairs [T, n_heads · d], before W_o.
template <StorageType W>
Matrix differential_core(const DiffAttentionConfig& c, const DiffAttentionWeights<W>& w,
                         index_t window, const Matrix& q, const Matrix& k, const Matrix& v) {
  const index_t T = q.rows, nh = c.n_heads, nkv = c.resolved_n_kv_heads(),
                hd = c.resolved_head_dim();
  const index_t pairs = nh / 2, ratio = nh / nkv;
  const double lambda = diff_lambda(c, w), scale = 1.0 / std::sqrt(static_cast<double>(hd));
  Matrix o(T, nh * hd);
  std::vector<double> p(static_cast<std::size_t>(T)), a(static_cast<std::size_t>(2 * hd));
  for (index_t j = 0; j < pairs; ++j) {
    const index_t g = j / ratio;  // KV pair of query pair j
    for (index_t i = 0; i < T; ++i) {
      const index_t lo = window >= i + 1 ? 0 : i - window + 1;
      std::fill(a.begin(), a.end(), 0.0);
      for (index_t branch = 0; branch < 2; ++branch) {
        const index_t qh = 2 * j + branch, kh = 2 * g + branch;
        double m = -std::numeric_limits<double>::infinity(), sum = 0.0;
        for (index_t s = lo; s <= i; ++s) {
          double dot = 0.0;
          for (index_t e = 0; e < hd; ++e) dot += q(i, qh * hd + e) * k(s, kh * hd + e);
          p[static_cast<std::size_t>(s)] = dot * scale;
          m = std::max(m, p[static_cast<std::size_t>(s)]);
        }
        for (index_t s = lo; s <= i; ++s)
          sum += (p[static_cast<std::size_t>(s)] = std::exp(p[static_cast<std::size_t>(s)] - m));
        // A · [v_2g ‖ v_2g+1], subtracted with weight λ for the second map.
        const double sign = branch == 0 ? 1.0 : -lambda;
        for (index_t e = 0; e < 2 * hd; ++e) {
          double acc = 0.0;
          for (index_t s = lo; s <= i; ++s)
            acc += p[static_cast<std::size_t>(s)] * v(s, 2 * g * hd + e);
          a[static_cast<std::size_t>(e)] += sign * acc / sum;
        }
      }
      double ss = 0.0;
      for (const double x : a) ss += x * x;
      const double r = 1.0 / std::sqrt(ss / static_cast<double>(2 * hd) + c.norm_eps);
      for (index_t e = 0; e < 2 * hd; ++e)
        o(i, 2 * j * hd + e) =
            a[static_cast<std::size_t>(e)] * r * at(w.subln, e) * (1.0 - c.lambda_init());
    }
  }
  return o;
}

// Columns [c0, c0 + n) of m.
inline Matrix columns(const Matrix& m, index_t c0, index_t n) {
  Matrix out(m.rows, n);
  for (index_t t = 0; t < m.rows; ++t)
    for (index_t e = 0; e < n; ++e) out(t, e) = m(t, c0 + e);
  return out;
}

template <class B, StorageType W, AttentionKind Kind>
Matrix forward(const DifferentialAttention<B, W, Kind>& layer, const Matrix& x) {
  const auto& c = layer.config();
  const Matrix qkv = linear(x, layer.weights().wqkv, layer.weights().bqkv);
  const index_t qd = c.q_dim(), kvd = c.kv_dim();
  const Matrix o = differential_core(c, layer.weights(), layer.window(), columns(qkv, 0, qd),
                                     columns(qkv, qd, kvd), columns(qkv, qd + kvd, kvd));
  return linear(o, layer.weights().wo, layer.weights().bo);
}

// Cross-attention: queries from x, keys and values [T, kv_dim] from the shared layer (all from
// position 0), causal.
template <class B, StorageType W>
Matrix forward(const DifferentialCrossAttention<B, W>& layer, const Matrix& x, const Matrix& k,
               const Matrix& v) {
  const Matrix q = linear(x, layer.weights().wqkv, layer.weights().bqkv);
  const Matrix o = differential_core(layer.config(), layer.weights(),
                                     std::numeric_limits<index_t>::max(), q, k, v);
  return linear(o, layer.weights().wo, layer.weights().bo);
}

}  // namespace samba::reference

// The gated linear recurrence behind Mamba-2, Gated Linear Attention and Multi-Scale Retention, in
// double precision, in its two forms, which the tests hold against each other and the fast paths
// against both.
//
// Per head h, with key dim K and value dim V, a matrix state S ∈ R^{K×V}:
//
//   S_t = diag(exp(g_t)) · S_{t−1} + k_t · v_tᵀ,      o_t = S_tᵀ · q_t
//
// g_t ≤ 0 is the log of the decay: one value per head and step (Mamba-2: Δ_t·A_h; RetNet: the
// fixed log γ_h) or one per key channel (GLA). q and k may be shared by the heads of a group
// (Mamba-2's n_groups: head h reads group h / (H / G)); v, g, o and S are per head.
//
// Recurrent form: the equations above, step by step.
// Parallel form: with b_t = g_1 + … + g_t (the cumulative log decay since the start of the call),
//
//   o_t = Σ_{j ≤ t} Σ_k q_t[k] · k_j[k] · exp(b_t[k] − b_j[k]) · v_j  +  (q_t ⊙ exp(b_t))ᵀ · S_0
//   S_T = diag(exp(b_T)) · S_0 + Σ_j diag(exp(b_T − b_j)) · k_j · v_jᵀ
//
// which is what a chunked implementation computes within a chunk (masked products) and across
// chunks (the state).
#pragma once

#include <cmath>

#include "samba/core/error.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

// Sizes of one call: rows are tokens; q and k [T, G·K]; v and o [T, H·V]; g [T, H] (per head) or
// [T, H·K] (per key channel); the state [H·K, V] (head h's K rows from h·K).
struct GatedRecurrence {
  index_t heads = 0, groups = 0, key_dim = 0, value_dim = 0;
  bool per_key_decay = false;

  index_t group_of(index_t h) const { return h / (heads / groups); }
  // The log decay of head h, key channel c, at step t.
  double g(const Matrix& g, index_t t, index_t h, index_t c) const {
    return per_key_decay ? g(t, h * key_dim + c) : g(t, h);
  }
  void check(const Matrix& q, const Matrix& k, const Matrix& v, const Matrix& g,
             const Matrix& state) const {
    detail::check(heads > 0 && groups > 0 && heads % groups == 0 && key_dim > 0 && value_dim > 0,
                  "GatedRecurrence: heads ", heads, ", groups ", groups, ", key_dim ", key_dim,
                  ", value_dim ", value_dim);
    const index_t T = q.rows;
    detail::check(q.cols == groups * key_dim && k.rows == T && k.cols == q.cols && v.rows == T &&
                      v.cols == heads * value_dim && g.rows == T &&
                      g.cols == (per_key_decay ? heads * key_dim : heads) &&
                      state.rows == heads * key_dim && state.cols == value_dim,
                  "GatedRecurrence: shapes do not match");
  }
};

// Step by step; advances `state`.
inline Matrix recurrent(const GatedRecurrence& r, const Matrix& q, const Matrix& k, const Matrix& v,
                        const Matrix& g, Matrix& state) {
  r.check(q, k, v, g, state);
  const index_t K = r.key_dim, V = r.value_dim;
  Matrix o(q.rows, r.heads * V);
  for (index_t t = 0; t < q.rows; ++t)
    for (index_t h = 0; h < r.heads; ++h) {
      const index_t qk = r.group_of(h) * K;
      for (index_t c = 0; c < K; ++c) {
        const double decay = std::exp(r.g(g, t, h, c)), kc = k(t, qk + c);
        for (index_t e = 0; e < V; ++e)
          state(h * K + c, e) = decay * state(h * K + c, e) + kc * v(t, h * V + e);
      }
      for (index_t e = 0; e < V; ++e) {
        double acc = 0.0;
        for (index_t c = 0; c < K; ++c) acc += q(t, qk + c) * state(h * K + c, e);
        o(t, h * V + e) = acc;
      }
    }
  return o;
}

// All steps at once from the cumulative decays; advances `state`.
inline Matrix parallel(const GatedRecurrence& r, const Matrix& q, const Matrix& k, const Matrix& v,
                       const Matrix& g, Matrix& state) {
  r.check(q, k, v, g, state);
  const index_t T = q.rows, K = r.key_dim, V = r.value_dim, H = r.heads;
  Matrix b(T, H * K);  // b(t, h·K + c) = Σ_{s ≤ t} g(s, h, c)
  for (index_t h = 0; h < H; ++h)
    for (index_t c = 0; c < K; ++c) {
      double sum = 0.0;
      for (index_t t = 0; t < T; ++t) b(t, h * K + c) = sum += r.g(g, t, h, c);
    }
  Matrix o(T, H * V);
  for (index_t h = 0; h < H; ++h) {
    const index_t qk = r.group_of(h) * K;
    for (index_t t = 0; t < T; ++t)
      for (index_t e = 0; e < V; ++e) {
        double acc = 0.0;
        for (index_t c = 0; c < K; ++c)
          acc += q(t, qk + c) * std::exp(b(t, h * K + c)) * state(h * K + c, e);
        for (index_t j = 0; j <= t; ++j) {
          double a = 0.0;
          for (index_t c = 0; c < K; ++c)
            a += q(t, qk + c) * k(j, qk + c) * std::exp(b(t, h * K + c) - b(j, h * K + c));
          acc += a * v(j, h * V + e);
        }
        o(t, h * V + e) = acc;
      }
  }
  if (T > 0) {
    Matrix next(H * K, V);
    for (index_t h = 0; h < H; ++h) {
      const index_t qk = r.group_of(h) * K;
      for (index_t c = 0; c < K; ++c) {
        const double bT = b(T - 1, h * K + c);
        for (index_t e = 0; e < V; ++e) {
          double s = std::exp(bT) * state(h * K + c, e);
          for (index_t j = 0; j < T; ++j)
            s += std::exp(bT - b(j, h * K + c)) * k(j, qk + c) * v(j, h * V + e);
          next(h * K + c, e) = s;
        }
      }
    }
    state = next;
  }
  return o;
}

}  // namespace samba::reference

// The gated linear recurrence (reference/linear_recurrence.hpp) on the CPU: the primitive of
// Mamba-2, GLA and Multi-Scale Retention.
//
//   S_t = diag(exp(g_t)) · S_{t−1} + k_t · v_tᵀ,      o_t = S_tᵀ · q_t      (per head)
//
// Prefill runs in chunks of `chunk` steps, GEMM-shaped (cpu/gemm.hpp), with b_i the cumulative log
// decay since the chunk's start:
//   - across chunks: O = (Q ⊙ exp(b)) · S, the state the chunk starts from;
//   - within the chunk: O += (A ⊙ M) · V with A = Q · Kᵀ and M_ij = exp(b_i − b_j) for j ≤ i, else
//     0. A per-head decay (Mamba-2, RetNet) scales the whole product. A per-key-channel decay
//     (GLA) cannot be pulled out of the product: blocks of `sub_chunk` rows below the diagonal use
//     Q̂_i = q_i ⊙ exp(b_i − b_r) and K̂_j = k_j ⊙ exp(b_r − b_j) with r the first row of the
//     query block (both factors ≤ 1, so nothing overflows however steep the decay), and the
//     blocks on the diagonal sum q_i[c] k_j[c] exp(b_i[c] − b_j[c]) directly;
//   - the state: S = diag(exp(b_last)) · S + (K ⊙ exp(b_last − b))ᵀ · V.
// The heads of a group that share q and k and have one decay each (Mamba-2: one group of 48 heads
// at the 421M width) run each chunk together: the products with the state are as wide as the
// group (heads · value_dim outputs), one GEMM each instead of one per head,
//   O = diag(exp(b_h)) · (Q · S_h) for every head h at once;  S_h = exp(b_h,last) · S_h + U_h with
//   U = Kᵀ · [exp(b_h,last − b_h) ⊙ V_h]_h;
// and Q·Kᵀ once; only (A ⊙ M_h) · V_h is per head. Short calls (decode) step the recurrence
// directly. Otherwise heads are independent and split over the threads. All arithmetic is f32 (exp:
// cpu/simd.hpp's fast_exp, ≤ 2 ulp); scratch comes from the thread's arena.
#pragma once

#include <algorithm>
#include <cmath>

#include "samba/core/error.hpp"
#include "samba/core/scratch.hpp"
#include "samba/core/tensor.hpp"
#include "samba/cpu/gemm.hpp"
#include "samba/cpu/parallel.hpp"
#include "samba/cpu/simd.hpp"

namespace samba::cpu_detail {

// Sizes of one call (see reference::GatedRecurrence): q and k [T, groups · key_dim], v and o
// [T, heads · value_dim], g [T, heads] or [T, heads · key_dim], the state [heads · key_dim,
// value_dim] (head h's key_dim rows from h · key_dim).
struct GatedRecurrenceShape {
  index_t heads = 0, groups = 0, key_dim = 0, value_dim = 0;
  bool per_key_decay = false;
};

namespace recurrence_detail {

// The views of one head.
struct HeadViews {
  ConstMatrixView<float> q, k, v, g;  // g: [T, 1] or [T, key_dim]
  MatrixView<float> o;
  float* S;  // [key_dim, value_dim]
};

// Step by step: S = diag(exp g_t) S + k_t v_tᵀ, o_t = Sᵀ q_t.
inline void step_head(const HeadViews& h, index_t K, index_t V, bool per_key) {
  for (index_t t = 0; t < h.q.rows(); ++t) {
    const float* q = h.q.row(t);
    const float* k = h.k.row(t);
    const float* v = h.v.row(t);
    const float* g = h.g.row(t);
    float* o = h.o.row(t);
    std::fill_n(o, V, 0.0f);
    const float shared = per_key ? 0.0f : fast_exp(g[0]);
    for (index_t c = 0; c < K; ++c) {
      const float decay = per_key ? fast_exp(g[c]) : shared, kc = k[c], qc = q[c];
      float* s = h.S + c * V;
      for (index_t e = 0; e < V; ++e) {
        s[e] = decay * s[e] + kc * v[e];
        o[e] += qc * s[e];
      }
    }
  }
}

// One chunk of n rows of one head (see the top of the file).
inline void chunk_head(const HeadViews& h, index_t K, index_t V, bool per_key, index_t sub_chunk) {
  const index_t n = h.q.rows(), Kd = per_key ? K : 1;
  const Isa isa = active_isa();
  ScratchBuffer<float> b(n * Kd), qe(n * K), a(n * n), kt(K * n);
  for (index_t i = 0; i < n; ++i)
    for (index_t c = 0; c < Kd; ++c)
      b[i * Kd + c] = (i > 0 ? b[(i - 1) * Kd + c] : 0.0f) + h.g(i, c);
  const auto bi = [&](index_t i, index_t c) { return b[i * Kd + (per_key ? c : 0)]; };

  // With one decay per head, exp(b_i) and exp(b_last − b_j) are one value per row: n exps, not
  // n·K (Mamba-2's and retention's case).
  ScratchBuffer<float> row_exp(per_key ? 0 : 2 * n);
  if (!per_key)
    for (index_t i = 0; i < n; ++i) {
      row_exp[i] = fast_exp(b[i]);
      row_exp[n + i] = fast_exp(b[n - 1] - b[i]);
    }

  // Across chunks: O = (Q ⊙ exp(b)) · S.
  for (index_t i = 0; i < n; ++i) {
    if (per_key) {
      for (index_t c = 0; c < K; ++c) qe[i * K + c] = h.q(i, c) * fast_exp(bi(i, c));
    } else {
      const float e = row_exp[i];
      for (index_t c = 0; c < K; ++c) qe[i * K + c] = h.q(i, c) * e;
    }
  }
  gemm_nn(ConstMatrixView<float>(qe.data(), {n, K}, {K, 1}),
          ConstMatrixView<float>(h.S, {K, V}, {V, 1}), h.o, /*accumulate=*/false, isa);

  // Within the chunk: A ⊙ M into a.
  const MatrixView<float> A(a.data(), {n, n}, {n, 1});
  if (!per_key) {
    gemm_nt(h.q, h.k, A, /*accumulate=*/false, isa);
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < n; ++j)
        A(i, j) = j <= i ? A(i, j) * fast_exp(bi(i, 0) - bi(j, 0)) : 0.0f;
  } else {
    std::fill_n(a.data(), n * n, 0.0f);
    ScratchBuffer<float> qh(sub_chunk * K), kh(n * K);
    for (index_t r0 = 0; r0 < n; r0 += sub_chunk) {
      const index_t r1 = std::min(n, r0 + sub_chunk), rows = r1 - r0;
      // Diagonal block: directly.
      for (index_t i = r0; i < r1; ++i)
        for (index_t j = r0; j <= i; ++j) {
          float s = 0.0f;
          for (index_t c = 0; c < K; ++c)
            s += h.q(i, c) * h.k(j, c) * fast_exp(bi(i, c) - bi(j, c));
          A(i, j) = s;
        }
      if (r0 == 0) continue;
      // Below the diagonal: keys [0, r0) against queries [r0, r1), both scaled towards b_{r0}.
      for (index_t i = r0; i < r1; ++i)
        for (index_t c = 0; c < K; ++c)
          qh[(i - r0) * K + c] = h.q(i, c) * fast_exp(bi(i, c) - bi(r0, c));
      for (index_t j = 0; j < r0; ++j)
        for (index_t c = 0; c < K; ++c) kh[j * K + c] = h.k(j, c) * fast_exp(bi(r0, c) - bi(j, c));
      gemm_nt(ConstMatrixView<float>(qh.data(), {rows, K}, {K, 1}),
              ConstMatrixView<float>(kh.data(), {r0, K}, {K, 1}),
              MatrixView<float>(a.data() + r0 * n, {rows, r0}, {n, 1}), /*accumulate=*/false, isa);
    }
  }
  gemm_nn(ConstMatrixView<float>(A), h.v, h.o, /*accumulate=*/true, isa);

  // The state: S = diag(exp(b_last)) S + (K ⊙ exp(b_last − b))ᵀ V.
  for (index_t c = 0; c < K; ++c) {
    const float last = bi(n - 1, c), scale = per_key ? fast_exp(last) : row_exp[n - 1];
    float* s = h.S + c * V;
    for (index_t e = 0; e < V; ++e) s[e] *= scale;
    if (per_key) {
      for (index_t j = 0; j < n; ++j) kt[c * n + j] = h.k(j, c) * fast_exp(last - bi(j, c));
    } else {
      for (index_t j = 0; j < n; ++j) kt[c * n + j] = h.k(j, c) * row_exp[n + j];
    }
  }
  gemm_nn(ConstMatrixView<float>(kt.data(), {K, n}, {n, 1}), h.v,
          MatrixView<float>(h.S, {K, V}, {V, 1}), /*accumulate=*/true, isa);
}

// One chunk of n rows of the HG heads of a group with one decay per head (see the top of the
// file): q, k [n, K] shared, v and o [n, HG · V], g [n, HG], S the HG heads' states [HG, K, V].
inline void chunk_group(ConstMatrixView<float> q, ConstMatrixView<float> k,
                        ConstMatrixView<float> v, ConstMatrixView<float> g, MatrixView<float> o,
                        float* S, index_t HG, index_t K, index_t V, bool parallel) {
  (void)parallel;
  const index_t n = q.rows(), width = HG * V;
  const Isa isa = active_isa();
  // Per head h: b the cumulative log decay, e = exp(b), w = exp(b_last − b).
  ScratchBuffer<float> b(HG * n), e(HG * n), w(HG * n), qk(n * n), kt(K * n), vw(n * width),
      u(K * width);
  for (index_t h = 0; h < HG; ++h) {
    float* bh = b.data() + h * n;
    for (index_t i = 0; i < n; ++i) bh[i] = (i > 0 ? bh[i - 1] : 0.0f) + g(i, h);
    for (index_t i = 0; i < n; ++i) {
      e[h * n + i] = fast_exp(bh[i]);
      w[h * n + i] = fast_exp(bh[n - 1] - bh[i]);
    }
  }

  // Across chunks: O = diag(e_h) · (Q · S_h), all heads in one product.
  gemm_head_blocks(q, S, HG, V, o, /*accumulate=*/false, isa);
  SAMBA_PARALLEL_FOR_IF(parallel)
  for (index_t i = 0; i < n; ++i) {
    float* row = o.row(i);
    for (index_t h = 0; h < HG; ++h) {
      const float scale = e[h * n + i];
      for (index_t c = 0; c < V; ++c) row[h * V + c] *= scale;
    }
  }

  // Within the chunk: Q·Kᵀ once, then (A ⊙ M_h) · V_h per head.
  gemm_nt(q, k, MatrixView<float>(qk.data(), {n, n}, {n, 1}), /*accumulate=*/false, isa);
  SAMBA_PARALLEL_FOR_IF(parallel)
  for (index_t h = 0; h < HG; ++h) {
    ScratchBuffer<float> a(n * n), inv(n);
    const float* bh = b.data() + h * n;
    const float* eh = e.data() + h * n;
    // exp(b_i − b_j) = e_i / e_j while every e_j is a normal float (|b_j| ≤ 80): no exp per
    // element. Steeper decays take the exp of each difference, which cannot underflow to 0 / 0.
    const auto [lo, hi] = std::minmax_element(bh, bh + n);
    if (*lo >= -80.0f && *hi <= 80.0f) {
      for (index_t j = 0; j < n; ++j) inv[j] = 1.0f / eh[j];
      for (index_t i = 0; i < n; ++i) {
        const float ei = eh[i];
        float* ar = a.data() + i * n;
        const float* qr = qk.data() + i * n;
        for (index_t j = 0; j <= i; ++j) ar[j] = qr[j] * ei * inv[j];
        std::fill(ar + i + 1, ar + n, 0.0f);
      }
    } else {
      for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < n; ++j)
          a[i * n + j] = j <= i ? qk[i * n + j] * fast_exp(bh[i] - bh[j]) : 0.0f;
    }
    gemm_nn(ConstMatrixView<float>(a.data(), {n, n}, {n, 1}),
            ConstMatrixView<float>(v.data() + h * V, {n, V}, {v.stride(0), 1}),
            MatrixView<float>(o.data() + h * V, {n, V}, {o.stride(0), 1}), /*accumulate=*/true,
            isa);
  }

  // The states: U = Kᵀ · [w_h ⊙ V_h]_h, then S_h = exp(b_h,last) · S_h + U_h.
  for (index_t j = 0; j < n; ++j)
    for (index_t c = 0; c < K; ++c) kt[c * n + j] = k(j, c);
  SAMBA_PARALLEL_FOR_IF(parallel)
  for (index_t j = 0; j < n; ++j) {
    const float* vr = v.row(j);
    float* dst = vw.data() + j * width;
    for (index_t h = 0; h < HG; ++h) {
      const float scale = w[h * n + j];
      for (index_t c = 0; c < V; ++c) dst[h * V + c] = scale * vr[h * V + c];
    }
  }
  gemm_nn(ConstMatrixView<float>(kt.data(), {K, n}, {n, 1}),
          ConstMatrixView<float>(vw.data(), {n, width}, {width, 1}),
          MatrixView<float>(u.data(), {K, width}, {width, 1}), /*accumulate=*/false, isa);
  SAMBA_PARALLEL_FOR_IF(parallel)
  for (index_t h = 0; h < HG; ++h) {
    const float decay = e[h * n + n - 1];
    float* sh = S + h * K * V;
    for (index_t c = 0; c < K; ++c)
      for (index_t x = 0; x < V; ++x)
        sh[c * V + x] = decay * sh[c * V + x] + u[c * width + h * V + x];
  }
}

}  // namespace recurrence_detail

// Up to this many steps a call is stepped directly (decode); longer calls go in chunks.
inline constexpr index_t recurrence_step_max = 8;

// One sequence's call: o = the recurrence over its T steps from `state`, which it advances.
// q, k, v, g and o: rows contiguous within a row, any row stride.
inline void gated_linear_recurrence(const GatedRecurrenceShape& s, ConstMatrixView<float> q,
                                    ConstMatrixView<float> k, ConstMatrixView<float> v,
                                    ConstMatrixView<float> g, float* state, MatrixView<float> o,
                                    index_t chunk = 64, index_t sub_chunk = 16) {
  const index_t T = q.rows(), H = s.heads, G = s.groups, K = s.key_dim, V = s.value_dim;
  detail::check(H > 0 && G > 0 && H % G == 0 && K > 0 && V > 0 && chunk > 0 && sub_chunk > 0,
                "gated_linear_recurrence: heads ", H, ", groups ", G, ", key_dim ", K,
                ", value_dim ", V, ", chunk ", chunk, ", sub_chunk ", sub_chunk);
  const index_t gcols = s.per_key_decay ? H * K : H;
  detail::check(q.cols() == G * K && k.rows() == T && k.cols() == G * K && v.rows() == T &&
                    v.cols() == H * V && g.rows() == T && g.cols() == gcols && o.rows() == T &&
                    o.cols() == H * V,
                "gated_linear_recurrence: q ", q.dyn_shape(), ", k ", k.dyn_shape(), ", v ",
                v.dyn_shape(), ", g ", g.dyn_shape(), ", o ", o.dyn_shape(), " for ", H,
                " heads in ", G, " groups, key_dim ", K, ", value_dim ", V);
  detail::check((T == 0 || (q.stride(1) == 1 && k.stride(1) == 1 && v.stride(1) == 1 &&
                            g.stride(1) == 1 && o.stride(1) == 1)),
                "gated_linear_recurrence: rows must be contiguous");
  if (T == 0) return;
  const index_t Kd = s.per_key_decay ? K : 1;
  const bool parallel = static_cast<long long>(T) * H * K * V >= parallel_min_work && H > 1;
  (void)parallel;
  const auto rows_of = [&](auto view, index_t t0, index_t n, index_t col, index_t cols) {
    return decltype(view)(view.data() + t0 * view.stride(0) + col, {n, cols}, {view.stride(0), 1});
  };
  // Heads of a group with one decay each: chunk by chunk, the group's heads together.
  const index_t HG = H / G;
  if (!s.per_key_decay && HG > 1 && T > recurrence_step_max) {
    for (index_t grp = 0; grp < G; ++grp)
      for (index_t t0 = 0; t0 < T; t0 += chunk) {
        const index_t n = std::min(chunk, T - t0);
        recurrence_detail::chunk_group(
            rows_of(q, t0, n, grp * K, K), rows_of(k, t0, n, grp * K, K),
            rows_of(v, t0, n, grp * HG * V, HG * V), rows_of(g, t0, n, grp * HG, HG),
            rows_of(o, t0, n, grp * HG * V, HG * V), state + grp * HG * K * V, HG, K, V, parallel);
      }
    return;
  }
  SAMBA_PARALLEL_FOR_IF(parallel)
  for (index_t h = 0; h < H; ++h) {
    const index_t grp = h / (H / G), qk = grp * K;
    for (index_t t0 = 0; t0 < T; t0 += chunk) {
      const index_t n = std::min(chunk, T - t0);
      const recurrence_detail::HeadViews hv{
          rows_of(q, t0, n, qk, K),      rows_of(k, t0, n, qk, K),    rows_of(v, t0, n, h * V, V),
          rows_of(g, t0, n, h * Kd, Kd), rows_of(o, t0, n, h * V, V), state + h * K * V};
      if (T <= recurrence_step_max)
        recurrence_detail::step_head(hv, K, V, s.per_key_decay);
      else
        recurrence_detail::chunk_head(hv, K, V, s.per_key_decay, sub_chunk);
    }
  }
}

}  // namespace samba::cpu_detail

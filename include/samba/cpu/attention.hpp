// Sliding-window and causal attention on the CPU.
//
// A chunk of T tokens starting at absolute position p0 attends into the cached keys it can see,
// [max(0, p0 − W + 1), p0), plus itself. Those keys are gathered (unrolling the ring) into one
// contiguous block together with the chunk's own keys; queries are then processed in tiles of
// `query_tile` rows, each tile against only the key range its window reaches, so the work grows as
// T · (W + tile), not T². The chunk's keys are written into the cache after the gather.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include "samba/core/backend.hpp"
#include "samba/cpu/batch.hpp"
#include "samba/cpu/eigen.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/layers/attention.hpp"

namespace samba {
namespace cpu_detail {

// Rotates the first `rotary_dims` dims of each head of `rows` in place (rotate-half RoPE); row t
// is the token at absolute position p0 + t. The angle is formed in double so that positions in the
// millions keep full f32 accuracy.
inline void apply_rope(MatrixView<float> rows, index_t n_heads, index_t head_dim,
                       index_t rotary_dims, double base, index_t p0) {
  const index_t half = rotary_dims / 2;
  if (half == 0) return;
  std::vector<double> inv_freq(static_cast<std::size_t>(half));
  for (index_t i = 0; i < half; ++i)
    inv_freq[i] = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(rotary_dims));
  std::vector<float> cs(static_cast<std::size_t>(2 * half));
  for (index_t t = 0; t < rows.rows(); ++t) {
    const double p = static_cast<double>(p0 + t);
    for (index_t i = 0; i < half; ++i) {
      cs[2 * i] = static_cast<float>(std::cos(p * inv_freq[i]));
      cs[2 * i + 1] = static_cast<float>(std::sin(p * inv_freq[i]));
    }
    for (index_t h = 0; h < n_heads; ++h) {
      float* a = rows.row(t) + h * head_dim;
      for (index_t i = 0; i < half; ++i) {
        const float x1 = a[i], x2 = a[i + half], c = cs[2 * i], s = cs[2 * i + 1];
        a[i] = x1 * c - x2 * s;
        a[i + half] = x2 * c + x1 * s;
      }
    }
  }
}

}  // namespace cpu_detail

template <StorageType W, AttentionKind Kind>
struct AttentionKernel<cpu, W, Kind> {
  using Layer = Attention<cpu, W, Kind>;
  using State = typename Layer::State;
  static constexpr index_t query_tile = 64;

  static void forward(const Layer& layer, std::span<State* const> states,
                      std::span<const index_t> lengths, ConstMatrixView<float> x,
                      MatrixView<float> y) {
    const index_t T = x.rows();
    if (T == 0) return;
    const auto& c = layer.config();
    const index_t nh = c.n_heads, nkv = c.resolved_n_kv_heads(), hd = c.resolved_head_dim();
    const index_t qd = c.q_dim(), kvd = c.kv_dim(), rd = c.resolved_rotary_dims();

    HostBuffer<float> q(T * qd), k(T * kvd), v(T * kvd), attn(T * qd);
    cpu_detail::linear(x, layer.weights().wq, q.view<2>({T, qd}));
    cpu_detail::linear(x, layer.weights().wk, k.view<2>({T, kvd}));
    cpu_detail::linear(x, layer.weights().wv, v.view<2>({T, kvd}));
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      cpu_detail::apply_rope(q.view<2>({T, qd}).slice(r0, len), nh, hd, rd, c.rope_base,
                             st.position);
      cpu_detail::apply_rope(k.view<2>({T, kvd}).slice(r0, len), nkv, hd, rd, c.rope_base,
                             st.position);
      attend(layer, st, q.data() + r0 * qd, k.data() + r0 * kvd, v.data() + r0 * kvd, len,
             attn.data() + r0 * qd);
    });
    cpu_detail::linear(ConstMatrixView<float>(attn.data(), {T, qd}), layer.weights().wo, y);
  }

  // One sequence's chunk of T tokens (rows of q [T, q_dim], k and v [T, kv_dim], RoPE applied):
  // out [T, q_dim] = the attention of each query over the keys its window sees; then the chunk's
  // keys and values join the cache.
  static void attend(const Layer& layer, State& state, const float* q, const float* k,
                     const float* v, index_t T, float* out) {
    const auto& c = layer.config();
    const index_t nh = c.n_heads, nkv = c.resolved_n_kv_heads(), hd = c.resolved_head_dim();
    const index_t qd = c.q_dim(), kvd = c.kv_dim(), window = layer.window();
    const index_t p0 = state.position;

    // Keys visible to this chunk: absolute positions [k0, p0 + T).
    const index_t k0 = p0 - std::min(p0, window - 1);
    const index_t n_past = p0 - k0, n_keys = n_past + T;
    HostBuffer<float> keys(n_keys * kvd), values(n_keys * kvd);
    for (index_t j = 0; j < n_past; ++j) {
      const index_t slot = (k0 + j) % state.capacity;
      std::copy_n(state.k.data() + slot * kvd, kvd, keys.data() + j * kvd);
      std::copy_n(state.v.data() + slot * kvd, kvd, values.data() + j * kvd);
    }
    std::copy_n(k, T * kvd, keys.data() + n_past * kvd);
    std::copy_n(v, T * kvd, values.data() + n_past * kvd);
    append_to_cache(state, k, v, T);

    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    const index_t group = nh / nkv;
    cpu_detail::RowMatrix scores;
    for (index_t i0 = 0; i0 < T; i0 += query_tile) {
      const index_t i1 = std::min(T, i0 + query_tile);
      // Keys (indices into `keys`) seen by any query of the tile: the first query's window start
      // up to the last query itself.
      const index_t j0 = std::max<index_t>(0, n_past + i0 - (window - 1));
      const index_t j1 = n_past + i1;
      for (index_t h = 0; h < nh; ++h) {
        const index_t g = h / group;
        cpu_detail::ConstMatrixMap Q(q + i0 * qd + h * hd, i1 - i0, hd, Eigen::OuterStride<>(qd));
        cpu_detail::ConstMatrixMap K(keys.data() + j0 * kvd + g * hd, j1 - j0, hd,
                                     Eigen::OuterStride<>(kvd));
        cpu_detail::ConstMatrixMap V(values.data() + j0 * kvd + g * hd, j1 - j0, hd,
                                     Eigen::OuterStride<>(kvd));
        cpu_detail::MatrixMap O(out + i0 * qd + h * hd, i1 - i0, hd, Eigen::OuterStride<>(qd));
        scores.noalias() = (Q * K.transpose()) * scale;
        for (index_t i = i0; i < i1; ++i) {
          // Query i (key index n_past + i) sees key indices [n_past + i − W + 1, n_past + i].
          const index_t lo = std::max<index_t>(j0, n_past + i - (window - 1)) - j0;
          const index_t hi = n_past + i - j0;  // inclusive
          float* s = scores.row(i - i0).data();
          float m = -std::numeric_limits<float>::infinity();
          for (index_t j = lo; j <= hi; ++j) m = std::max(m, s[j]);
          float sum = 0.0f;
          for (index_t j = 0; j < j1 - j0; ++j) {
            const float e = (j >= lo && j <= hi) ? std::exp(s[j] - m) : 0.0f;
            s[j] = e;
            sum += e;
          }
          const float inv = 1.0f / sum;
          for (index_t j = lo; j <= hi; ++j) s[j] *= inv;
        }
        O.noalias() = scores * V;
      }
    }
  }

  // Stores the chunk's keys and values at rows (p0 + t) % capacity, growing the cache (doubling, up
  // to max_rows) first; of a chunk longer than the ring only the last max_rows tokens are kept.
  static void append_to_cache(State& s, const float* k, const float* v, index_t T) {
    const index_t kvd = s.kv_dim;
    const index_t needed = std::min(s.max_rows, s.position + T);
    if (s.capacity < needed) {
      // Before the ring is full, row p holds position p, so growing is a plain copy.
      const index_t cap = std::min(s.max_rows, std::max({needed, 2 * s.capacity, index_t{16}}));
      HostBuffer<float> nk(cap * kvd), nv(cap * kvd);
      std::copy_n(s.k.data(), s.capacity * kvd, nk.data());
      std::copy_n(s.v.data(), s.capacity * kvd, nv.data());
      s.k = std::move(nk);
      s.v = std::move(nv);
      s.capacity = cap;
    }
    for (index_t t = std::max<index_t>(0, T - s.capacity); t < T; ++t) {
      const index_t slot = (s.position + t) % s.capacity;
      std::copy_n(k + t * kvd, kvd, s.k.data() + slot * kvd);
      std::copy_n(v + t * kvd, kvd, s.v.data() + slot * kvd);
    }
    s.position += T;
  }
};

}  // namespace samba

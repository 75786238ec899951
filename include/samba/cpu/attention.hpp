// Attention's primitives on the CPU (sliding-window and causal).
//
// A chunk of T tokens starting at absolute position p0 attends into the cached keys it can see,
// [max(0, p0 − W + 1), p0), plus itself, with a flash-style kernel (see attend_sequence); the
// chunk's keys are written into the cache afterwards (cache_append).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "samba/core/backend.hpp"
#include "samba/core/math.hpp"
#include "samba/cpu/batch.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/parallel.hpp"
#include "samba/cpu/simd.hpp"
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
  ScratchBuffer<double> inv_freq(half);
  for (index_t i = 0; i < half; ++i) inv_freq[i] = math::rope_inv_freq(base, i, rotary_dims);
  ScratchBuffer<float> cs(2 * half);
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

// Grows a KV cache (Attention's or DifferentialAttention's State: kv_dim, max_rows, position,
// capacity, k, v) so that len more tokens fit: the capacity doubles, up to max_rows.
template <class Cache>
void grow_kv_cache(Cache& s, index_t len) {
  const index_t needed = std::min(s.max_rows, s.position + len);
  if (s.capacity >= needed) return;
  const auto cap = static_cast<index_t>(math::grown_capacity(s.capacity, needed, s.max_rows));
  HostBuffer<float> k(cap * s.kv_dim), v(cap * s.kv_dim);
  std::copy_n(s.k.data(), s.capacity * s.kv_dim, k.data());
  std::copy_n(s.v.data(), s.capacity * s.kv_dim, v.data());
  s.k = std::move(k);
  s.v = std::move(v);
  s.capacity = cap;
}

// Stores a chunk's last min(T, capacity) keys and values (row t of rows: the key at column
// key_col, the value kv_dim after it) at rows (position + t) % capacity of the cache.
template <class Cache>
void store_kv(Cache& s, ConstMatrixView<float> rows, index_t key_col) {
  const index_t kvd = s.kv_dim, len = rows.rows();
  for (index_t t = std::max<index_t>(0, len - s.capacity); t < len; ++t) {
    const float* row = rows.row(t) + key_col;
    const index_t slot = (s.position + t) % s.capacity;
    std::copy_n(row, kvd, s.k.data() + slot * kvd);
    std::copy_n(row + kvd, kvd, s.v.data() + slot * kvd);
  }
}

// The flash-style attention core shared by the attention layers (Attention, DifferentialAttention):
// a chunk of T queries at absolute positions p0 … p0 + T − 1 attends over the keys its window
// sees, read where they lie: up to two runs in a ring-buffer cache (positions < p0, row p %
// capacity) and the chunk's own keys. Query head h reads KV head h / (n_heads / n_kv_heads).
struct AttendArgs {
  index_t n_heads, n_kv_heads, head_dim;
  float scale;                     // scores are q · k · scale
  index_t window;                  // keys a query sees, itself included (max index_t: causal)
  index_t p0;                      // absolute position of the chunk's first query
  const float *cache_k, *cache_v;  // [capacity, n_kv_heads · head_dim]; positions < p0
  index_t capacity;
  ConstMatrixView<float> q;  // [T, n_heads · head_dim]
  const float *k, *v;        // the chunk's keys and values: row t at k + t · ld_kv
  index_t ld_kv;
  MatrixView<float> out;  // [T, n_heads · head_dim]
};

struct FlashAttention {
  static constexpr index_t query_tile = 64;

  // One sequence's chunk: out = the attention of each query over the keys its window sees, read
  // from the cache (not yet holding the chunk) and from the chunk.
  //
  // Flash-style: the keys a chunk sees are read where they lie, in up to three runs of contiguous
  // rows (the ring's older part, its wrapped part, the chunk itself), never gathered. A task takes
  // a tile of queries with some of the KV heads, the query heads that share a KV head stacked as
  // rows, and walks the blocks of `key_block` keys its tile's window reaches (blocks wholly outside
  // it are never touched: work grows as T · (W + query_tile), not T²) with an online softmax: a
  // running maximum m and sum l per row, the partial output rescaled by exp(m_old − m_new) when
  // the maximum grows.
  // - Prefill-sized chunks: one task per (KV head, tile of `query_tile` queries), the products
  //   through cpu/gemm.hpp (gemm_nt, gemm_nn); tasks split over OpenMP threads.
  // - Decode-sized chunks (T · n_heads ≤ small_rows): one task holds every head, so each cached
  //   row of keys and values (all KV heads, contiguous) is read once; the keys are split over the
  //   OpenMP threads instead (flash-decoding) and the partial softmaxes merged.
  static void attend(const AttendArgs& a) {
    const index_t nh = a.n_heads, nkv = a.n_kv_heads, hd = a.head_dim, kvd = nkv * hd;
    const index_t T = a.q.rows(), p0 = a.p0, window = a.window;

    // Visible cached keys: absolute positions [k0, p0), row p % capacity of the ring.
    const index_t k0 = p0 - std::min(p0, window - 1), n_past = p0 - k0;
    KeyRun runs[3];
    int n_runs = 0;
    if (n_past > 0) {
      const index_t first = k0 % a.capacity;
      const index_t len = std::min(n_past, a.capacity - first);
      runs[n_runs++] = {a.cache_k + first * kvd, a.cache_v + first * kvd, kvd, k0, len};
      if (len < n_past) runs[n_runs++] = {a.cache_k, a.cache_v, kvd, k0 + len, n_past - len};
    }
    runs[n_runs++] = {a.k, a.v, a.ld_kv, p0, T};
    const Tiling tiling{nh,
                        nkv,
                        hd,
                        a.scale,
                        p0,
                        window,
                        {runs, static_cast<std::size_t>(n_runs)},
                        a.q.data(),
                        a.q.stride(0),
                        a.out.data(),
                        a.out.stride(0)};
    const index_t n_keys = n_past + T;
    const bool worth_threads =
        static_cast<long long>(T) * n_keys * nh * hd >= cpu_detail::parallel_min_work;

    if (T * nh <= small_rows) {
      const index_t splits = worth_threads ? std::clamp<index_t>(n_keys / (4 * key_block), 1,
                                                                 cpu_detail::max_threads())
                                           : 1;
      const index_t rows = T * nh;
      ScratchBuffer<float> memory(splits * rows * (hd + 2));
      ScratchBuffer<Partial> parts(splits);
      for (index_t sp = 0; sp < splits; ++sp) parts[sp] = Partial::in(memory.data(), sp, rows, hd);
      SAMBA_PARALLEL_FOR_IF(splits > 1)
      for (index_t sp = 0; sp < splits; ++sp)
        attend_tile(tiling, 0, nkv, 0, T, k0 + n_keys * sp / splits,
                    k0 + n_keys * (sp + 1) / splits, parts[sp]);
      write_output(tiling, 0, nkv, 0, T, {parts.data(), static_cast<std::size_t>(splits)});
    } else {
      const index_t n_tiles = (T + query_tile - 1) / query_tile;
      const index_t tasks = nkv * n_tiles;
      (void)worth_threads;
      SAMBA_PARALLEL_FOR_IF(tasks > 1 && worth_threads)
      for (index_t task = 0; task < tasks; ++task) {
        const index_t g = task % nkv, i0 = (task / nkv) * query_tile;
        const index_t i1 = std::min(T, i0 + query_tile);
        const index_t rows = (i1 - i0) * (nh / nkv);
        ScratchBuffer<float> memory(rows * (hd + 2));
        const Partial part = Partial::in(memory.data(), 0, rows, hd);
        attend_tile(tiling, g, g + 1, i0, i1, k0, p0 + T, part);
        write_output(tiling, g, g + 1, i0, i1, {&part, 1});
      }
    }
  }

 private:
  static constexpr index_t key_block = 128;
  // Up to this many rows (T · n_heads) a chunk is decode-sized: the products are plain loops that
  // read each key and value row once for all rows (a GEMM would spend more on packing than on
  // the product). 64, not 32: a decode step of Phi-4-mini-flash's 40 paired heads over 32K keys
  // took half the time this way (bench/cpu/sambay.cpp, 29 November 2026).
  static constexpr index_t small_rows = 64;

  // Rows [0, count) of k and v (ld floats apart) hold the keys and values of absolute positions
  // pos0, pos0 + 1, ...
  struct KeyRun {
    const float *k, *v;
    index_t ld, pos0, count;
  };

  struct Tiling {
    index_t n_heads, n_kv_heads, head_dim;
    float scale;
    index_t p0, window;
    std::span<const KeyRun> runs;
    const float* q;  // row t of the chunk's queries at q + t · ld_q
    index_t ld_q;
    float* out;  // row t of the output at out + t · ld_out
    index_t ld_out;
  };

  // The unnormalised result of a task, in scratch its caller holds: per row, the running maximum
  // m, the sum l of exp(s − m), and O = Σ exp(s − m) · v.
  struct Partial {
    float* O;  // [rows, head_dim]
    float* m;  // [rows]
    float* l;  // [rows]
    index_t hd;
    // Partial number k of memory laid out as k × (O, m, l).
    static Partial in(float* memory, index_t k, index_t rows, index_t hd) {
      float* base = memory + k * rows * (hd + 2);
      return {base, base + rows * hd, base + rows * (hd + 1), hd};
    }
    float* row(index_t r) const { return O + r * hd; }
  };

  // Rows of a task: row ((t − i0) · n_groups + (g − g0)) · group + j is query t, head g · group +
  // j. Queries [i0, i1) of the chunk, KV heads [g0, g1), keys at absolute positions [key_lo,
  // key_hi).
  static void attend_tile(const Tiling& a, index_t g0, index_t g1, index_t i0, index_t i1,
                          index_t key_lo, index_t key_hi, const Partial& p) {
    const index_t nh = a.n_heads, nkv = a.n_kv_heads, hd = a.head_dim;
    const index_t group = nh / nkv, ng = g1 - g0;
    const index_t rows = (i1 - i0) * ng * group, per_query = ng * group;
    const bool small = rows <= small_rows;
    const float scale = a.scale;

    ScratchBuffer<float> Q(rows * hd), S(rows * key_block);
    std::fill_n(p.O, rows * hd, 0.0f);
    std::fill_n(p.m, rows, -std::numeric_limits<float>::infinity());
    std::fill_n(p.l, rows, 0.0f);
    for (index_t t = i0; t < i1; ++t) {
      const float* src = a.q + t * a.ld_q + g0 * group * hd;  // the task's heads are contiguous
      float* dst = Q.data() + (t - i0) * per_query * hd;
      for (index_t d = 0; d < per_query * hd; ++d) dst[d] = src[d] * scale;
    }

    // Offset of row r's KV head within a key row, relative to the task's first KV head.
    ScratchBuffer<index_t> head_off(rows);
    for (index_t r = 0; r < rows; ++r) head_off[r] = ((r / group) % ng) * hd;

    const cpu_detail::Isa isa = cpu_detail::active_isa();  // asked once per tile, not per product
    // Keys seen by some query of the tile: [window start of the first query, the last query].
    const index_t first = a.p0 + i0, last = a.p0 + i1 - 1;
    const index_t lo_tile = std::max(first - std::min(first, a.window - 1), key_lo);
    const index_t hi_tile = std::min(last + 1, key_hi);
    for (const KeyRun& run : a.runs) {
      const index_t b_lo = std::max(run.pos0, lo_tile);
      const index_t b_hi = std::min(run.pos0 + run.count, hi_tile);
      for (index_t b0 = b_lo; b0 < b_hi; b0 += key_block) {
        const index_t nk = std::min(key_block, b_hi - b0);
        const float* kb = run.k + (b0 - run.pos0) * run.ld + g0 * hd;
        const float* vb = run.v + (b0 - run.pos0) * run.ld + g0 * hd;
        const MatrixView<float> Sb(S.data(), {rows, nk}, {key_block, 1});
        if (small) {
          for (index_t j = 0; j < nk; ++j)
            for (index_t r = 0; r < rows; ++r)
              Sb(r, j) = cpu_detail::dot(Q.data() + r * hd, kb + j * run.ld + head_off[r], hd, isa);
        } else {
          cpu_detail::gemm_nt(ConstMatrixView<float>(Q.data(), {rows, hd}, {hd, 1}),
                              ConstMatrixView<float>(kb, {nk, hd}, {run.ld, 1}),
                              MatrixView<float>(S.data(), {rows, nk}, {key_block, 1}),
                              /*accumulate=*/false, isa);
        }
        online_softmax(a, i0, per_query, b0, Sb, p);
        if (small) {
          for (index_t j = 0; j < nk; ++j)
            for (index_t r = 0; r < rows; ++r) {
              cpu_detail::axpy(Sb(r, j), vb + j * run.ld + head_off[r], p.row(r), hd, isa);
            }
        } else {
          cpu_detail::gemm_nn(ConstMatrixView<float>(S.data(), {rows, nk}, {key_block, 1}),
                              ConstMatrixView<float>(vb, {nk, hd}, {run.ld, 1}),
                              MatrixView<float>(p.O, {rows, hd}, {hd, 1}),
                              /*accumulate=*/true, isa);
        }
      }
    }
  }

  // Folds a block of scores (columns: keys b0, b0 + 1, ...) into the running softmax of each row,
  // leaving exp(s − m) in the visible columns and 0 in the others.
  static void online_softmax(const Tiling& a, index_t i0, index_t per_query, index_t b0,
                             MatrixView<float> Sb, const Partial& p) {
    const index_t nk = Sb.cols();
    for (index_t r = 0; r < Sb.rows(); ++r) {
      // Query position pq sees keys [pq − min(pq, W − 1), pq]: columns [j_lo, j_hi) here.
      const index_t pq = a.p0 + i0 + r / per_query;
      const index_t lo = pq - std::min(pq, a.window - 1);
      const index_t j_lo = std::clamp<index_t>(lo - b0, 0, nk);
      const index_t j_hi = std::clamp<index_t>(pq + 1 - b0, 0, nk);
      float* s = Sb.row(r);
      if (j_lo >= j_hi) {
        std::fill_n(s, nk, 0.0f);
        continue;
      }
      float mb = p.m[r];
      for (index_t j = j_lo; j < j_hi; ++j) mb = std::max(mb, s[j]);
      const float alpha = cpu_detail::fast_exp(p.m[r] - mb);  // 0 while m is −∞
      std::fill_n(s, j_lo, 0.0f);
      std::fill(s + j_hi, s + nk, 0.0f);
      const float sum = cpu_detail::exp_shifted(s + j_lo, j_hi - j_lo, mb);
      p.l[r] = p.l[r] * alpha + sum;
      p.m[r] = mb;
      if (alpha != 1.0f)
        for (index_t d = 0; d < p.hd; ++d) p.row(r)[d] *= alpha;
    }
  }

  // out = O / l for the rows of a task, merging the partials of a task whose keys were split:
  // with M = max m_s, O = Σ O_s · exp(m_s − M) and l = Σ l_s · exp(m_s − M).
  static void write_output(const Tiling& a, index_t g0, index_t g1, index_t i0, index_t i1,
                           std::span<const Partial> parts) {
    const index_t hd = a.head_dim;
    const index_t group = a.n_heads / a.n_kv_heads, per_query = (g1 - g0) * group;
    ScratchBuffer<float> o(hd);
    for (index_t t = i0; t < i1; ++t)
      for (index_t h = 0; h < per_query; ++h) {
        const index_t r = (t - i0) * per_query + h;
        float M = -std::numeric_limits<float>::infinity();
        for (const Partial& part : parts) M = std::max(M, part.m[r]);
        float l = 0.0f;
        std::fill_n(o.data(), hd, 0.0f);
        for (const Partial& part : parts) {
          const float w = parts.size() == 1 ? 1.0f : cpu_detail::fast_exp(part.m[r] - M);
          l += part.l[r] * w;
          const float* src = part.row(r);
          for (index_t d = 0; d < hd; ++d) o[d] += w * src[d];
        }
        const float inv = 1.0f / l;
        float* dst = a.out + t * a.ld_out + (g0 * group + h) * hd;
        for (index_t d = 0; d < hd; ++d) dst[d] = o[d] * inv;
      }
  }
};

}  // namespace cpu_detail

template <StorageType W, AttentionKind Kind>
struct AttentionKernel<cpu, W, Kind> {
  using Layer = Attention<cpu, W, Kind>;
  using State = typename Layer::State;

  static void check(const Layer&, ConstMatrixView<float>, MatrixView<float>) {}

  // Three GEMMs into the column ranges of qkv (the weights stay as loaded: no fused copy).
  static void project_qkv(const Layer& layer, ConstMatrixView<float> x, MatrixView<float> qkv) {
    const auto& c = layer.config();
    const auto& w = layer.weights();
    const index_t qd = c.q_dim(), kvd = c.kv_dim();
    cpu_detail::linear(x, w.wq, columns(qkv, 0, qd));
    cpu_detail::linear(x, w.wk, columns(qkv, qd, kvd));
    cpu_detail::linear(x, w.wv, columns(qkv, qd + kvd, kvd));
  }

  static void reserve(const Layer&, State& s, index_t len) { cpu_detail::grow_kv_cache(s, len); }

  // q and k lie side by side in a row of qkv: one pass rotates n_heads + n_kv_heads heads.
  static void rope(const Layer& layer, std::span<State* const> states,
                   std::span<const index_t> lengths, MatrixView<float> qkv) {
    const auto& c = layer.config();
    const index_t heads = c.n_heads + c.resolved_n_kv_heads(), hd = c.resolved_head_dim();
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      cpu_detail::apply_rope(columns(qkv.slice(r0, len), 0, heads * hd), heads, hd,
                             c.resolved_rotary_dims(), c.rope_base, st.position);
    });
  }

  static void attend(const Layer& layer, std::span<State* const> states,
                     std::span<const index_t> lengths, ConstMatrixView<float> qkv,
                     MatrixView<float> out) {
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      attend_sequence(layer, st, qkv.slice(r0, len), out.slice(r0, len));
    });
  }

  static void cache_append(const Layer& layer, std::span<State* const> states,
                           std::span<const index_t> lengths, ConstMatrixView<float> qkv) {
    const index_t qd = layer.config().q_dim();
    cpu_detail::for_each_sequence(states, lengths, [&](State& s, index_t r0, index_t len) {
      cpu_detail::store_kv(s, qkv.slice(r0, len), qd);
    });
  }

  static void linear(const Layer& layer, Tensor<W> AttentionWeights<W>::*weight,
                     ConstMatrixView<float> x, MatrixView<float> y) {
    detail::check(weight == &AttentionWeights<W>::wo, Layer::name,
                  ": wq, wk and wv are applied together by project_qkv");
    cpu_detail::linear(x, layer.weights().wo, layer.weights().bo, y);
  }

  // One sequence's chunk (rows of qkv, RoPE applied): out = the attention of each query over the
  // keys its window sees, read from the cache (not yet holding the chunk) and from the chunk.
  static void attend_sequence(const Layer& layer, const State& state, ConstMatrixView<float> qkv,
                              MatrixView<float> out) {
    const auto& c = layer.config();
    const index_t qd = c.q_dim(), kvd = c.kv_dim(), T = qkv.rows();
    cpu_detail::FlashAttention::attend(
        {c.n_heads, c.resolved_n_kv_heads(), c.resolved_head_dim(),
         1.0f / std::sqrt(static_cast<float>(c.resolved_head_dim())), layer.window(),
         state.position, state.k.data(), state.v.data(), state.capacity,
         ConstMatrixView<float>(qkv.data(), {T, qd}, {qkv.stride(0), 1}), qkv.data() + qd,
         qkv.data() + qd + kvd, qkv.stride(0), out});
  }

 private:
  // Columns [0, cols) of a row-major matrix's rows.
  static MatrixView<float> columns(MatrixView<float> m, index_t first, index_t cols) {
    return MatrixView<float>(m.data() + first, {m.rows(), cols}, {m.stride(0), 1});
  }
};

}  // namespace samba

// Differential attention's primitives on the CPU: the projections through cpu/linear.hpp, the
// paired heads through the attention core of cpu/attention.hpp (FlashAttention), the combination
// and sub-layer norm a row at a time.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "samba/core/backend.hpp"
#include "samba/core/math.hpp"
#include "samba/cpu/attention.hpp"
#include "samba/cpu/batch.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/parallel.hpp"
#include "samba/layers/differential_attention.hpp"

namespace samba {

template <StorageType W>
struct DiffAttentionKernel<cpu, W> {
  using Cache = DiffAttentionCache<cpu>;

  template <class Layer>
  static void check(const Layer&, ConstMatrixView<float>, MatrixView<float>) {}

  template <class Layer>
  static void project(const Layer& layer, ConstMatrixView<float> x, MatrixView<float> qkv) {
    cpu_detail::linear(x, layer.weights().wqkv, layer.weights().bqkv, qkv);
  }

  // paired row t: head 2j = [q_2j ‖ 0], head 2j+1 = [0 ‖ q_2j+1] (each 2·head_dim wide), then
  // qkv's keys and values where it has them.
  template <class Layer>
  static void pair_queries(const Layer& layer, ConstMatrixView<float> qkv,
                           MatrixView<float> paired) {
    const index_t nh = layer.config().n_heads, hd = layer.config().resolved_head_dim();
    const index_t qd = nh * hd, kv = qkv.cols() - qd;
    for (index_t t = 0; t < qkv.rows(); ++t) {
      const float* q = qkv.row(t);
      float* dst = paired.row(t);
      std::fill_n(dst, 2 * qd, 0.0f);
      for (index_t h = 0; h < nh; ++h) std::copy_n(q + h * hd, hd, dst + 2 * h * hd + (h % 2) * hd);
      std::copy_n(q + qd, kv, dst + 2 * qd);
    }
  }

  template <class Layer>
  static void reserve(const Layer&, Cache& s, index_t len) {
    cpu_detail::grow_kv_cache(s, len);
  }

  // paired: the queries, then (the self kinds) the chunk's keys and values; without them (the
  // cross kind, over a causal cache) the chunk's keys are read from the cache, rows position − len
  // … position − 1.
  template <class Layer>
  static void attend(const Layer& layer, std::span<const Cache* const> caches,
                     std::span<const index_t> lengths, ConstMatrixView<float> paired,
                     MatrixView<float> out) {
    const AttentionConfig pc = layer.config().paired();
    const index_t pd = pc.resolved_head_dim(), kvd = pc.kv_dim(), qw = pc.q_dim();
    const float scale = 1.0f / std::sqrt(static_cast<float>(layer.config().resolved_head_dim()));
    index_t window = std::numeric_limits<index_t>::max();
    if constexpr (requires { layer.window(); }) window = layer.window();
    const bool cross = paired.cols() == qw;
    index_t r0 = 0;
    for (std::size_t s = 0; s < caches.size(); ++s) {
      const index_t len = lengths[s];
      if (len > 0) {
        const Cache& c = *caches[s];
        const index_t p0 = cross ? c.position - len : c.position;
        const float* k = cross ? c.k.data() + p0 * kvd : paired.row(r0) + qw;
        const float* v = cross ? c.v.data() + p0 * kvd : paired.row(r0) + qw + kvd;
        const index_t ld = cross ? kvd : paired.stride(0);
        cpu_detail::FlashAttention::attend(
            {pc.n_heads, pc.resolved_n_kv_heads(), pd, scale, window, p0, c.k.data(), c.v.data(),
             c.capacity, ConstMatrixView<float>(paired.row(r0), {len, qw}, {paired.stride(0), 1}),
             k, v, ld, MatrixView<float>(out.row(r0), {len, qw}, {out.stride(0), 1})});
      }
      r0 += len;
    }
  }

  // Stores each chunk's keys and values (cpu_detail::store_kv).
  template <class Layer>
  static void cache_append(const Layer& layer, std::span<Cache* const> states,
                           std::span<const index_t> lengths, ConstMatrixView<float> paired) {
    const index_t keys = 2 * layer.config().q_dim();  // where a paired row's keys start
    cpu_detail::for_each_sequence(states, lengths, [&](Cache& s, index_t r0, index_t len) {
      cpu_detail::store_kv(s, paired.slice(r0, len), keys);
    });
  }

  // o pair j = RMSNorm(A1·V − λ·A2·V) ⊙ subln · (1 − λ_init), from out's heads 2j and 2j+1.
  template <class Layer>
  static void combine(const Layer& layer, ConstMatrixView<float> out, MatrixView<float> o) {
    const index_t pairs = layer.config().n_heads / 2, w = 2 * layer.config().resolved_head_dim();
    const float lambda = layer.lambda(), scale = layer.output_scale();
    const float eps = layer.config().norm_eps;
    const float* g = layer.weights().subln.data();
    SAMBA_PARALLEL_FOR_IF(out.rows() * out.cols() >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < out.rows(); ++t)
      for (index_t j = 0; j < pairs; ++j) {
        const float* a1 = out.row(t) + 2 * j * w;
        const float* a2 = a1 + w;
        float* dst = o.row(t) + j * w;
        float ss = 0.0f;
        for (index_t i = 0; i < w; ++i) {
          dst[i] = a1[i] - lambda * a2[i];
          ss += dst[i] * dst[i];
        }
        const float r = scale / std::sqrt(ss / static_cast<float>(w) + eps);
        for (index_t i = 0; i < w; ++i) dst[i] *= r * g[i];
      }
  }

  template <class Layer>
  static void output(const Layer& layer, ConstMatrixView<float> o, MatrixView<float> y) {
    cpu_detail::linear(o, layer.weights().wo, layer.weights().bo, y);
  }
};

}  // namespace samba

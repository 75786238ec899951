// What GatedLinearAttention and MultiScaleRetention share on the CPU (fla's layers differ only in
// their decay and RoPE): the recurrence over q | k | v columns with kv heads shared by groups of
// heads, and the per-head RMSNorm with the swish output gate.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>

#include "samba/core/scratch.hpp"
#include "samba/core/tensor.hpp"
#include "samba/cpu/batch.hpp"
#include "samba/cpu/linear_recurrence.hpp"
#include "samba/cpu/math.hpp"
#include "samba/cpu/parallel.hpp"

namespace samba::cpu_detail {

// The heads of one layer: H query heads of key width K and value width V; kv_heads key/value
// heads, head h reading kv head h / (H / kv_heads).
struct LinearAttentionHeads {
  index_t heads = 0, kv_heads = 0, key = 0, value = 0;
};

// o [T, H·V] = each sequence's recurrence from its state's S (advanced), on q / √K, k and v: the
// columns [0, H·K), [H·K, H·K + kv·K) and [H·K + kv·K, … + kv·V) of qkv. g is the log decay:
// [T, kv·K] per key channel of each kv head (per_key), or [T, H] one per head.
template <class State>
void linear_attention_recurrence(const LinearAttentionHeads& s, std::span<State* const> states,
                                 std::span<const index_t> lengths, ConstMatrixView<float> qkv,
                                 ConstMatrixView<float> g, bool per_key, MatrixView<float> o) {
  const index_t T = qkv.rows(), H = s.heads, K = s.key, V = s.value, rep = H / s.kv_heads;
  const index_t kd = H * K, kvk = s.kv_heads * K, kvv = s.kv_heads * V;
  const float scale = 1.0f / std::sqrt(static_cast<float>(K));
  // Per-head operands: q scaled; k, v (and a per-key g) copied per head only where kv heads are
  // shared.
  const index_t kh = rep > 1 ? H * K : 0, vh = rep > 1 ? H * V : 0,
                gh = rep > 1 && per_key ? kh : 0;
  ScratchBuffer<float> q(T * kd), k(T * kh), v(T * vh), gr(T * gh);
  SAMBA_PARALLEL_FOR_IF(T * kd >= parallel_min_work)
  for (index_t t = 0; t < T; ++t) {
    const float* row = qkv.row(t);
    for (index_t i = 0; i < kd; ++i) q[t * kd + i] = row[i] * scale;
    for (index_t h = 0; rep > 1 && h < H; ++h) {
      const index_t j = h / rep;
      std::copy_n(row + kd + j * K, K, k.data() + t * kh + h * K);
      std::copy_n(row + kd + kvk + j * V, V, v.data() + t * vh + h * V);
      if (per_key) std::copy_n(g.row(t) + j * K, K, gr.data() + t * gh + h * K);
    }
  }
  const auto rows = [](const float* p, index_t r0, index_t len, index_t cols, index_t ld) {
    return ConstMatrixView<float>(p + r0 * ld, {len, cols}, {ld, 1});
  };
  const index_t ld = qkv.stride(0), gld = g.stride(0);
  const GatedRecurrenceShape shape{H, H, K, V, per_key};
  for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
    const auto qs = rows(q.data(), r0, len, kd, kd);
    const auto ks =
        rep > 1 ? rows(k.data(), r0, len, kh, kh) : rows(qkv.data() + kd, r0, len, kvk, ld);
    const auto vs =
        rep > 1 ? rows(v.data(), r0, len, vh, vh) : rows(qkv.data() + kd + kvk, r0, len, kvv, ld);
    const auto gs =
        gh > 0 ? rows(gr.data(), r0, len, gh, gh) : rows(g.data(), r0, len, g.cols(), gld);
    gated_linear_recurrence(shape, qs, ks, vs, gs, st.ssm.data(), o.slice(r0, len));
  });
}

// o = RMSNorm over each head's V channels (eps) ⊙ weight [V], then ⊙ swish(gate) where gate has
// columns (none: no output gate). In place.
inline void head_norm_gate(MatrixView<float> o, ConstMatrixView<float> gate, const float* weight,
                           index_t heads, index_t V, float eps) {
  const bool gated = gate.cols() > 0;
  SAMBA_PARALLEL_FOR_IF(o.rows() * heads * V >= parallel_min_work)
  for (index_t t = 0; t < o.rows(); ++t) {
    float* row = o.row(t);
    const float* grow = gated ? gate.row(t) : nullptr;
    for (index_t h = 0; h < heads; ++h) {
      float* oh = row + h * V;
      float ss = 0.0f;
      for (index_t i = 0; i < V; ++i) ss += oh[i] * oh[i];
      const float r = 1.0f / std::sqrt(ss / static_cast<float>(V) + eps);
      for (index_t i = 0; i < V; ++i) {
        oh[i] *= r * weight[i];
        if (gated) oh[i] *= silu(grow[h * V + i]);
      }
    }
  }
}

}  // namespace samba::cpu_detail

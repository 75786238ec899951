// GatedLinearAttention's primitives on the CPU: projections through cpu_detail::linear, the short
// conv of cpu/conv.hpp, the recurrence as cpu/linear_recurrence.hpp's gated linear recurrence with
// a per-key-channel decay (chunked and GEMM-shaped in prefill, stepped in decode), the per-head
// norm and gate as a plain loop.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>

#include "samba/core/backend.hpp"
#include "samba/core/scratch.hpp"
#include "samba/cpu/batch.hpp"
#include "samba/cpu/conv.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/linear_recurrence.hpp"
#include "samba/cpu/math.hpp"
#include "samba/layers/gla.hpp"

namespace samba {

template <>
inline constexpr bool has_gla_kernel<cpu> = true;

template <StorageType W>
struct GLAKernel<cpu, W> {
  using Layer = GatedLinearAttention<cpu, W>;
  using State = typename Layer::State;

  static void check(const Layer&, ConstMatrixView<float>, MatrixView<float>) {}

  static void linear(const Layer& layer, ConstMatrixView<float> x, Tensor<W> GLAWeights<W>::*weight,
                     MatrixView<float> y) {
    cpu_detail::linear(x, layer.weights().*weight, y);
  }

  static void conv_silu(const Layer& layer, std::span<State* const> states,
                        std::span<const index_t> lengths, ConstMatrixView<float> qkv,
                        MatrixView<float> out) {
    const auto& w = layer.weights();
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      cpu_detail::causal_conv_silu(qkv.slice(r0, len), w.conv_weight.data(), w.conv_bias.data(),
                                   layer.config().conv_size, st.conv.data(), out.slice(r0, len));
    });
  }

  // α in place of the gate logits, q / √K in scratch, k, v and α repeated per head where kv heads
  // are shared, then each sequence's recurrence.
  static void recurrence(const Layer& layer, std::span<State* const> states,
                         std::span<const index_t> lengths, ConstMatrixView<float> qkv,
                         MatrixView<float> alpha, MatrixView<float> o) {
    const GLAConfig& c = layer.config();
    const index_t T = qkv.rows(), H = c.n_heads, Hkv = c.resolved_n_kv_heads();
    const index_t K = c.head_k_dim(), V = c.head_v_dim(), kd = c.resolved_key_dim();
    const index_t kvk = c.kv_key_dim(), kvv = c.kv_value_dim(), rep = H / Hkv;
    const float* bias = layer.weights().gk_bias.data();
    const float scale = 1.0f / std::sqrt(static_cast<float>(K));
    for (index_t t = 0; t < T; ++t) {
      float* a = alpha.row(t);
      for (index_t i = 0; i < kvk; ++i)
        a[i] =
            std::max(cpu_detail::logsigmoid(a[i] + bias[i]) / c.gate_logit_normalizer, c.clamp_min);
    }
    // Per-head operands: q scaled; k, v, α copied per head only when kv heads are shared.
    const index_t kh = rep > 1 ? H * K : 0, vh = rep > 1 ? H * V : 0;
    ScratchBuffer<float> q(T * kd), k(T * kh), v(T * vh), g(T * kh);
    for (index_t t = 0; t < T; ++t) {
      const float* row = qkv.row(t);
      for (index_t i = 0; i < kd; ++i) q[t * kd + i] = row[i] * scale;
      for (index_t h = 0; rep > 1 && h < H; ++h) {
        const index_t j = h / rep;
        std::copy_n(row + kd + j * K, K, k.data() + t * kh + h * K);
        std::copy_n(row + kd + kvk + j * V, V, v.data() + t * vh + h * V);
        std::copy_n(alpha.row(t) + j * K, K, g.data() + t * kh + h * K);
      }
    }
    const index_t ld = qkv.stride(0);
    const cpu_detail::GatedRecurrenceShape shape{H, H, K, V, /*per_key_decay=*/true};
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      const float* row = qkv.data() + r0 * ld;
      const ConstMatrixView<float> qs(q.data() + r0 * kd, {len, kd}, {kd, 1});
      if (rep > 1)
        cpu_detail::gated_linear_recurrence(
            shape, qs, ConstMatrixView<float>(k.data() + r0 * kh, {len, kh}, {kh, 1}),
            ConstMatrixView<float>(v.data() + r0 * vh, {len, vh}, {vh, 1}),
            ConstMatrixView<float>(g.data() + r0 * kh, {len, kh}, {kh, 1}), st.ssm.data(),
            o.slice(r0, len));
      else
        cpu_detail::gated_linear_recurrence(
            shape, qs, ConstMatrixView<float>(row + kd, {len, kvk}, {ld, 1}),
            ConstMatrixView<float>(row + kd + kvk, {len, kvv}, {ld, 1}),
            ConstMatrixView<float>(alpha.row(r0), {len, kvk}, {alpha.stride(0), 1}), st.ssm.data(),
            o.slice(r0, len));
    });
  }

  static void norm_gate(const Layer& layer, ConstMatrixView<float> g, MatrixView<float> o) {
    const GLAConfig& c = layer.config();
    const index_t H = c.n_heads, V = c.head_v_dim();
    const float* w = layer.weights().norm_weight.data();
    const bool gated = g.cols() > 0;
    for (index_t t = 0; t < o.rows(); ++t) {
      float* orow = o.row(t);
      const float* grow = gated ? g.row(t) : nullptr;
      for (index_t h = 0; h < H; ++h) {
        float* oh = orow + h * V;
        float ss = 0.0f;
        for (index_t i = 0; i < V; ++i) ss += oh[i] * oh[i];
        const float r = 1.0f / std::sqrt(ss / static_cast<float>(V) + c.norm_eps);
        for (index_t i = 0; i < V; ++i) {
          oh[i] *= r * w[i];
          if (gated) oh[i] *= cpu_detail::silu(grow[h * V + i]);
        }
      }
    }
  }
};

}  // namespace samba

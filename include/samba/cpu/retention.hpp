// MultiScaleRetention's primitives on the CPU: projections through cpu_detail::linear, the short
// conv of cpu/conv.hpp, RoPE as the attention kernel applies it, the recurrence and the per-head
// norm and gate of cpu/linear_attention.hpp (shared with GatedLinearAttention) with one fixed decay
// per head.
#pragma once

#include <span>

#include "samba/core/backend.hpp"
#include "samba/core/scratch.hpp"
#include "samba/cpu/attention.hpp"
#include "samba/cpu/batch.hpp"
#include "samba/cpu/conv.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/linear_attention.hpp"
#include "samba/layers/retention.hpp"

namespace samba {

template <>
inline constexpr bool has_retention_kernel<cpu> = true;

template <StorageType W>
struct RetentionKernel<cpu, W> {
  using Layer = MultiScaleRetention<cpu, W>;
  using State = typename Layer::State;

  static void check(const Layer&, ConstMatrixView<float>, MatrixView<float>) {}

  static void linear(const Layer& layer, ConstMatrixView<float> x,
                     Tensor<W> RetentionWeights<W>::*weight, MatrixView<float> y) {
    cpu_detail::linear(x, layer.weights().*weight, y);
  }

  static void conv_silu(const Layer& layer, std::span<State* const> states,
                        std::span<const index_t> lengths, ConstMatrixView<float> qkv,
                        MatrixView<float> out) {
    const auto& w = layer.weights();
    cpu_detail::causal_conv_batch(states, lengths, qkv, w.conv_weight.data(), w.conv_bias.data(),
                                  layer.config().conv_size, out, /*apply_silu=*/true);
  }

  static void rope(const Layer& layer, std::span<State* const> states,
                   std::span<const index_t> lengths, MatrixView<float> qkv) {
    const RetentionConfig& c = layer.config();
    const index_t K = c.head_k_dim(), kd = c.resolved_key_dim(), kvk = c.kv_key_dim();
    const index_t ld = qkv.stride(0);
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      float* row = qkv.data() + r0 * ld;
      cpu_detail::apply_rope(MatrixView<float>(row, {len, kd}, {ld, 1}), c.n_heads, K, K,
                             c.rope_base, st.position);
      cpu_detail::apply_rope(MatrixView<float>(row + kd, {len, kvk}, {ld, 1}),
                             c.resolved_n_kv_heads(), K, K, c.rope_base, st.position);
    });
  }

  static void recurrence(const Layer& layer, std::span<State* const> states,
                         std::span<const index_t> lengths, ConstMatrixView<float> qkv,
                         MatrixView<float> o) {
    const RetentionConfig& c = layer.config();
    const index_t T = qkv.rows(), H = c.n_heads;
    ScratchBuffer<float> g(T * H);
    for (index_t h = 0; h < H; ++h) {
      const auto decay = static_cast<float>(RetentionConfig::log_decay(h));
      for (index_t t = 0; t < T; ++t) g[t * H + h] = decay;
    }
    cpu_detail::linear_attention_recurrence<State>(
        {H, c.resolved_n_kv_heads(), c.head_k_dim(), c.head_v_dim()}, states, lengths, qkv,
        g.template view<2>({T, H}), /*per_key=*/false, o);
  }

  static void norm_gate(const Layer& layer, ConstMatrixView<float> g, MatrixView<float> o) {
    const RetentionConfig& c = layer.config();
    cpu_detail::head_norm_gate(o, g, layer.weights().norm_weight.data(), c.n_heads, c.head_v_dim(),
                               c.norm_eps);
  }
};

}  // namespace samba

// GatedLinearAttention's primitives on the CPU: projections through cpu_detail::linear, the short
// conv of cpu/conv.hpp, the recurrence (cpu/linear_recurrence.hpp's, chunked and GEMM-shaped in
// prefill, stepped in decode, with a per-key-channel decay) and the per-head norm and gate of
// cpu/linear_attention.hpp, which MultiScaleRetention shares.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>

#include "samba/core/backend.hpp"
#include "samba/core/scratch.hpp"
#include "samba/cpu/batch.hpp"
#include "samba/cpu/conv.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/linear_attention.hpp"
#include "samba/cpu/math.hpp"
#include "samba/cpu/parallel.hpp"
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
    cpu_detail::causal_conv_batch(states, lengths, qkv, w.conv_weight.data(), w.conv_bias.data(),
                                  layer.config().conv_size, out, /*apply_silu=*/true);
  }

  // α in place of the gate logits, then each sequence's recurrence (cpu/linear_attention.hpp).
  static void recurrence(const Layer& layer, std::span<State* const> states,
                         std::span<const index_t> lengths, ConstMatrixView<float> qkv,
                         MatrixView<float> alpha, MatrixView<float> o) {
    const GLAConfig& c = layer.config();
    const index_t kvk = c.kv_key_dim();
    const float* bias = layer.weights().gk_bias.data();
    SAMBA_PARALLEL_FOR_IF(alpha.rows() * kvk >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < alpha.rows(); ++t) {
      float* a = alpha.row(t);
      for (index_t i = 0; i < kvk; ++i)
        a[i] =
            std::max(cpu_detail::logsigmoid(a[i] + bias[i]) / c.gate_logit_normalizer, c.clamp_min);
    }
    cpu_detail::linear_attention_recurrence<State>(
        {c.n_heads, c.resolved_n_kv_heads(), c.head_k_dim(), c.head_v_dim()}, states, lengths, qkv,
        alpha, /*per_key=*/true, o);
  }

  static void norm_gate(const Layer& layer, ConstMatrixView<float> g, MatrixView<float> o) {
    const GLAConfig& c = layer.config();
    cpu_detail::head_norm_gate(o, g, layer.weights().norm_weight.data(), c.n_heads, c.head_v_dim(),
                               c.norm_eps);
  }
};

}  // namespace samba

// Mamba2Layer's primitives on the CPU: projections through cpu_detail::linear, the causal conv of
// cpu/conv.hpp, the SSM as cpu/linear_recurrence.hpp's gated linear recurrence (chunked and
// GEMM-shaped in prefill, stepped in decode), the gated RMSNorm as a plain loop.
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
#include "samba/cpu/parallel.hpp"
#include "samba/cpu/simd.hpp"
#include "samba/layers/mamba2.hpp"

namespace samba {

template <>
inline constexpr bool has_mamba2_kernel<cpu> = true;

template <StorageType W>
struct Mamba2Kernel<cpu, W> {
  using Layer = Mamba2Layer<cpu, W>;
  using State = typename Layer::State;

  // Host memory and every size run on the CPU.
  static void check(const Layer&, ConstMatrixView<float>, MatrixView<float>) {}

  static void linear(const Layer& layer, Tensor<W> Mamba2Weights<W>::*weight,
                     ConstMatrixView<float> x, MatrixView<float> y) {
    cpu_detail::linear(x, layer.weights().*weight, y);
  }

  static void conv_silu(const Layer& layer, std::span<State* const> states,
                        std::span<const index_t> lengths, ConstMatrixView<float> xbc,
                        MatrixView<float> out) {
    const auto& w = layer.weights();
    cpu_detail::causal_conv_batch(states, lengths, xbc, w.conv_weight.data(), w.conv_bias.data(),
                                  layer.config().d_conv, out, /*apply_silu=*/true);
  }

  // Δ = clamp(softplus(dt + dt_bias)) in dt's place, the log decay Δ·A and the values Δ·u in
  // scratch, each sequence's recurrence (q = C, k = B), then y += D ⊙ u.
  static void ssd(const Layer& layer, std::span<State* const> states,
                  std::span<const index_t> lengths, const Mamba2ScanInputs& in,
                  MatrixView<float> y) {
    const Mamba2Config& c = layer.config();
    const index_t T = in.xbc.rows(), di = c.resolved_d_inner(), H = c.n_heads(), P = c.head_dim;
    const index_t N = c.d_state, G = c.n_groups;
    const float* dt_bias = layer.weights().dt_bias.data();
    const float* A = layer.A().data();
    const float* D = layer.weights().D.data();
    ScratchBuffer<float> g(T * H), v(T * di);
    SAMBA_PARALLEL_FOR_IF(T * di >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < T; ++t) {
      const float* u = in.xbc.row(t);
      for (index_t h = 0; h < H; ++h) {
        const float d =
            std::clamp(cpu_detail::softplus(in.dt(t, h) + dt_bias[h]), c.dt_min, c.dt_max);
        g[t * H + h] = d * A[h];
        for (index_t p = 0; p < P; ++p) v[t * di + h * P + p] = d * u[h * P + p];
      }
    }
    const cpu_detail::GatedRecurrenceShape shape{H, G, N, P, /*per_key_decay=*/false};
    const index_t ld = in.xbc.stride(0);
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      const float* row = in.xbc.data() + r0 * ld;
      cpu_detail::gated_linear_recurrence(
          shape, ConstMatrixView<float>(row + di + G * N, {len, G * N}, {ld, 1}),
          ConstMatrixView<float>(row + di, {len, G * N}, {ld, 1}),
          ConstMatrixView<float>(v.data() + r0 * di, {len, di}, {di, 1}),
          ConstMatrixView<float>(g.data() + r0 * H, {len, H}, {H, 1}), st.ssm.data(),
          y.slice(r0, len));
    });
    SAMBA_PARALLEL_FOR_IF(T * di >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < T; ++t) {
      const float* u = in.xbc.row(t);
      float* o = y.row(t);
      for (index_t h = 0; h < H; ++h)
        for (index_t p = 0; p < P; ++p) o[h * P + p] += D[h] * u[h * P + p];
    }
  }

  static void gated_norm(const Layer& layer, ConstMatrixView<float> z, MatrixView<float> y) {
    const Mamba2Config& c = layer.config();
    const index_t di = c.resolved_d_inner(), ng = c.resolved_norm_group();
    const float* w = layer.weights().norm_weight.data();
    SAMBA_PARALLEL_FOR_IF(y.rows() * di >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < y.rows(); ++t) {
      ScratchBuffer<float> gated(di);  // silu(z) ⊙ y
      std::copy_n(z.row(t), di, gated.data());
      float* yr = y.row(t);
      cpu_detail::silu_mul(gated.data(), yr, di);
      for (index_t g0 = 0; g0 < di; g0 += ng) {
        float ss = 0.0f;
        for (index_t i = g0; i < g0 + ng; ++i) ss += gated[i] * gated[i];
        const float scale = 1.0f / std::sqrt(ss / static_cast<float>(ng) + c.norm_eps);
        for (index_t i = g0; i < g0 + ng; ++i) yr[i] = gated[i] * scale * w[i];
      }
    }
  }
};

}  // namespace samba

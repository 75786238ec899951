// MambaLayer on the CPU: projections through Eigen, the causal conv and the selective scan as
// plain loops over the sequence (the math is in layers/mamba.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <span>

#include "samba/core/backend.hpp"
#include "samba/cpu/batch.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/math.hpp"
#include "samba/layers/mamba.hpp"

namespace samba {

template <StorageType W>
struct MambaKernel<cpu, W> {
  using Layer = MambaLayer<cpu, W>;
  using State = typename Layer::State;

  static void forward(const Layer& layer, std::span<State* const> states,
                      std::span<const index_t> lengths, ConstMatrixView<float> x,
                      MatrixView<float> y) {
    const index_t T = x.rows();
    if (T == 0) return;
    const auto& c = layer.config();
    const auto& w = layer.weights();
    const index_t di = c.d_inner(), n = c.d_state, r = c.resolved_dt_rank();

    // (u, z) = in_proj · x
    HostBuffer<float> xz(T * 2 * di);
    auto xz_v = xz.view<2>({T, 2 * di});
    cpu_detail::linear(x, w.in_proj, xz_v);
    const ConstMatrixView<float> u(xz.data(), {T, di}, {2 * di, 1});
    const ConstMatrixView<float> z(xz.data() + di, {T, di}, {2 * di, 1});

    // u' = silu(causal_conv(u)), each sequence continuing from its state's last inputs.
    HostBuffer<float> uc(T * di);
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      causal_conv_silu(layer, st, u.slice(r0, len), uc.view<2>({T, di}).slice(r0, len));
    });

    // (δ, B, C) = x_proj · u';  Δ = softplus(dt_proj · δ + dt_bias)
    const index_t xw = r + 2 * n;
    HostBuffer<float> xdbl(T * xw), delta(T * di);
    cpu_detail::linear(ConstMatrixView<float>(uc.view<2>({T, di})), w.x_proj,
                       xdbl.view<2>({T, xw}));
    cpu_detail::linear(ConstMatrixView<float>(xdbl.data(), {T, r}, {xw, 1}), w.dt_proj,
                       delta.view<2>({T, di}));
    const float* dt_bias = w.dt_bias.data();
    for (index_t t = 0; t < T; ++t)
      for (index_t ch = 0; ch < di; ++ch)
        delta[t * di + ch] = cpu_detail::softplus(delta[t * di + ch] + dt_bias[ch]);

    // Selective scan per sequence, gated by silu(z).
    HostBuffer<float> gated(T * di);
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      selective_scan(layer, st, uc.data() + r0 * di, delta.data() + r0 * di,
                     xdbl.data() + r0 * xw + r, xw, z.slice(r0, len), gated.data() + r0 * di);
    });

    cpu_detail::linear(ConstMatrixView<float>(gated.data(), {T, di}), w.out_proj, y);
  }

  // out[t, c] = silu(bias[c] + Σ_k w[c, k] · u[t − (K−1) + k, c]); inputs before the chunk come
  // from state.conv, which is then advanced to hold the chunk's last K − 1 inputs.
  static void causal_conv_silu(const Layer& layer, State& state, ConstMatrixView<float> u,
                               MatrixView<float> out) {
    const index_t T = u.rows(), di = layer.config().d_inner(), K = layer.config().d_conv;
    const float* cw = layer.weights().conv_weight.data();
    const float* cb = layer.weights().conv_bias.data();
    float* hist = state.conv.data();           // [K − 1, di]
    auto input = [&](index_t s, index_t ch) {  // s: time relative to the chunk start, may be < 0
      return s >= 0 ? u(s, ch) : hist[(K - 1 + s) * di + ch];
    };
    for (index_t t = 0; t < T; ++t) {
      float* o = out.row(t);
      for (index_t ch = 0; ch < di; ++ch) {
        float acc = cb[ch];
        for (index_t k = 0; k < K; ++k) acc += cw[ch * K + k] * input(t - (K - 1) + k, ch);
        o[ch] = cpu_detail::silu(acc);
      }
    }
    // New history: the last K − 1 inputs of (old history, chunk), oldest first.
    for (index_t j = 0; j < K - 1; ++j) {
      const index_t s = T - (K - 1) + j;  // relative time of history row j
      if (s < 0) {
        std::copy_n(hist + (K - 1 + s) * di, di,
                    hist + j * di);  // from row T + j > j: rows only move up
      } else {
        for (index_t ch = 0; ch < di; ++ch) hist[j * di + ch] = u(s, ch);
      }
    }
  }

  // h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t u'_t;  y_t = (C_t · h_t + D ⊙ u'_t) ⊙ silu(z_t).
  // bc points at B_0 (C_0 = B_0 + d_state); rows of B and C are bc_stride apart.
  static void selective_scan(const Layer& layer, State& state, const float* uc, const float* delta,
                             const float* bc, index_t bc_stride, ConstMatrixView<float> z,
                             float* out) {
    const index_t T = z.rows(), di = layer.config().d_inner(), n = layer.config().d_state;
    const float* A = layer.A().data();
    const float* D = layer.weights().D.data();
    float* h_all = state.ssm.data();
    for (index_t ch = 0; ch < di; ++ch) {
      float* h = h_all + ch * n;
      const float* a = A + ch * n;
      for (index_t t = 0; t < T; ++t) {
        const float dt = delta[t * di + ch], xv = uc[t * di + ch];
        const float* B = bc + t * bc_stride;
        const float* C = B + n;
        float acc = 0.0f;
        for (index_t s = 0; s < n; ++s) {
          h[s] = std::exp(dt * a[s]) * h[s] + dt * B[s] * xv;
          acc += C[s] * h[s];
        }
        out[t * di + ch] = (acc + D[ch] * xv) * cpu_detail::silu(z(t, ch));
      }
    }
  }
};

}  // namespace samba

// The causal depthwise convolution (with SiLU for Mamba-1, Mamba-2 and the short convs), on the
// CPU, for one sequence's chunk, continuing from the sequence's last inputs.
#pragma once

#include <algorithm>
#include <span>

#include "samba/core/error.hpp"
#include "samba/core/math.hpp"
#include "samba/core/scratch.hpp"
#include "samba/core/tensor.hpp"
#include "samba/cpu/batch.hpp"
#include "samba/cpu/math.hpp"
#include "samba/cpu/parallel.hpp"
#include "samba/cpu/simd.hpp"

namespace samba::cpu_detail {

// out[t, c] = act(bias[c] + Σ_k weight[c, k] · u[t − (K−1) + k, c]) for the channels of u
// (weight [channels, K], bias [channels]), act = silu (Mamba, Mamba-2, fla's short convs) or none
// (Griffin's RG-LRU block); inputs before the chunk come from hist [K − 1, channels] (oldest
// first), which is then advanced to hold the last K − 1 inputs.
// Rows are independent and split over the threads; within a row the loops run over the channels
// (the weights transposed to [K, channels] first), each sum in the order bias, tap 0, tap 1, ….
// out must not overlap u.
inline void causal_conv(ConstMatrixView<float> u, const float* weight, const float* bias, index_t K,
                        float* hist, MatrixView<float> out, bool apply_silu) {
  const index_t T = u.rows(), C = u.cols();
  if (T > 0) {
    detail::check(u.stride(1) == 1 || C <= 1, "causal_conv: rows of u must be contiguous");
    detail::check(out.stride(1) == 1 || C <= 1, "causal_conv: rows of out must be contiguous");
  }
  ScratchBuffer<float> taps(K * C);  // taps[k · C + ch] = weight[ch · K + k]
  for (index_t ch = 0; ch < C; ++ch)
    for (index_t k = 0; k < K; ++k) taps[k * C + ch] = weight[ch * K + k];
  const Isa isa = active_isa();
  SAMBA_PARALLEL_FOR_IF(static_cast<long long>(T) * C * K >= parallel_min_work)
  for (index_t t = 0; t < T; ++t) {
    float* o = out.row(t);
    std::copy_n(bias, C, o);
    for (index_t k = 0; k < K; ++k) {
      const index_t s = math::conv_source(t, k, K);  // relative time, < 0 in the history
      const float* src = s >= 0 ? u.row(s) : hist + (K - 1 + s) * C;
      const float* w = taps.data() + k * C;
      for (index_t ch = 0; ch < C; ++ch) o[ch] += w[ch] * src[ch];
    }
    if (apply_silu) silu_into(o, o, C, isa);
  }
  // New history: the last K − 1 inputs of (old history, chunk), oldest first.
  for (index_t j = 0; j < K - 1; ++j) {
    const index_t s = math::conv_state_source(j, T, K);  // relative time of history row j
    if (s < 0)
      std::copy_n(hist + (K - 1 + s) * C, C, hist + j * C);  // from row T + j > j: rows move up
    else
      for (index_t ch = 0; ch < C; ++ch) hist[j * C + ch] = u(s, ch);
  }
}

inline void causal_conv_silu(ConstMatrixView<float> u, const float* weight, const float* bias,
                             index_t K, float* hist, MatrixView<float> out) {
  causal_conv(u, weight, bias, K, hist, out, /*apply_silu=*/true);
}

// The causal conv of a ragged batch: each sequence's rows of in, from and advancing the last
// inputs its State keeps in `conv` ([K − 1, channels]) — Mamba-2's over xBC, the short convs of
// GLA and retention, Griffin's (without SiLU).
template <class State>
void causal_conv_batch(std::span<State* const> states, std::span<const index_t> lengths,
                       ConstMatrixView<float> in, const float* weight, const float* bias, index_t K,
                       MatrixView<float> out, bool apply_silu) {
  for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
    causal_conv(in.slice(r0, len), weight, bias, K, st.conv.data(), out.slice(r0, len), apply_silu);
  });
}

}  // namespace samba::cpu_detail

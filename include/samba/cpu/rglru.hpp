// RGLRULayer's primitives on the CPU: the projections through cpu_detail::linear plus their bias,
// the causal conv of cpu/conv.hpp without its SiLU, the block-diagonal gates as one small GEMM per
// block (cpu/gemm.hpp), and the RG-LRU as a diagonal recurrence stepped per channel.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>

#include "samba/core/backend.hpp"
#include "samba/core/scratch.hpp"
#include "samba/cpu/batch.hpp"
#include "samba/cpu/conv.hpp"
#include "samba/cpu/gemm.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/math.hpp"
#include "samba/cpu/parallel.hpp"
#include "samba/layers/rglru.hpp"

namespace samba {

template <>
inline constexpr bool has_rglru_kernel<cpu> = true;

template <StorageType W>
struct RGLRUKernel<cpu, W> {
  using Layer = RGLRULayer<cpu, W>;
  using State = typename Layer::State;

  static void check(const Layer&, ConstMatrixView<float>, MatrixView<float>) {}

  static void linear(const Layer& layer, ConstMatrixView<float> x,
                     Tensor<W> RGLRUWeights<W>::*weight, Tensor<float> RGLRUWeights<W>::*bias,
                     MatrixView<float> y) {
    cpu_detail::linear(x, layer.weights().*weight, layer.weights().*bias, y);
  }

  static void conv(const Layer& layer, std::span<State* const> states,
                   std::span<const index_t> lengths, ConstMatrixView<float> u,
                   MatrixView<float> out) {
    const auto& w = layer.weights();
    cpu_detail::causal_conv_batch(states, lengths, u, w.conv_weight.data(), w.conv_bias.data(),
                                  layer.config().conv_width, out, /*apply_silu=*/false);
  }

  // The gates for every row (one GEMM per block), then each sequence's recurrence.
  static void rg_lru(const Layer& layer, std::span<State* const> states,
                     std::span<const index_t> lengths, ConstMatrixView<float> u,
                     MatrixView<float> h) {
    const RGLRUConfig& c = layer.config();
    const auto& w = layer.weights();
    const index_t T = u.rows(), width = c.width(), H = c.n_heads, bw = c.block_width();
    const cpu_detail::Isa isa = cpu_detail::active_isa();
    ScratchBuffer<float> ig(T * width), rg(T * width);
    for (index_t b = 0; b < H; ++b) {
      const ConstMatrixView<float> ub(u.data() + b * bw, {T, bw}, {u.stride(0), 1});
      cpu_detail::gemm_nn(
          ub, ConstMatrixView<float>(w.input_gate.data() + b * bw * bw, {bw, bw}, {bw, 1}),
          MatrixView<float>(ig.data() + b * bw, {T, bw}, {width, 1}),
          /*accumulate=*/false, isa);
      cpu_detail::gemm_nn(
          ub, ConstMatrixView<float>(w.recurrent_gate.data() + b * bw * bw, {bw, bw}, {bw, 1}),
          MatrixView<float>(rg.data() + b * bw, {T, bw}, {width, 1}),
          /*accumulate=*/false, isa);
    }
    // −c · softplus(Λ) per channel.
    ScratchBuffer<float> neg_c_sp(width);
    for (index_t i = 0; i < width; ++i)
      neg_c_sp[i] = -c.c * cpu_detail::softplus(w.recurrent_param.data()[i]);
    const float* bi = w.input_gate_bias.data();
    const float* br = w.recurrent_gate_bias.data();
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      float* hs = st.h.data();
      for (index_t t = 0; t < len; ++t) {
        const bool reset = st.position + t == 0;
        const float* ur = u.row(r0 + t);
        const float* igr = ig.data() + (r0 + t) * width;
        const float* rgr = rg.data() + (r0 + t) * width;
        float* out = h.row(r0 + t);
        for (index_t i = 0; i < width; ++i) {
          const float in_gate = cpu_detail::sigmoid(igr[i] + bi[i]);
          const float log_a = neg_c_sp[i] * cpu_detail::sigmoid(rgr[i] + br[i]);
          const float a = reset ? 0.0f : std::exp(log_a);
          const float m = reset ? 1.0f : std::sqrt(-std::expm1(2.0f * log_a));  // √(1 − a²)
          hs[i] = a * hs[i] + m * in_gate * ur[i];
          out[i] = hs[i];
        }
      }
    });
  }

  static void gate(const Layer&, ConstMatrixView<float> y, MatrixView<float> h) {
    SAMBA_PARALLEL_FOR_IF(h.rows() * h.cols() >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < h.rows(); ++t) {
      const float* yr = y.row(t);
      float* hr = h.row(t);
      for (index_t i = 0; i < h.cols(); ++i) hr[i] *= cpu_detail::gelu_tanh(yr[i]);
    }
  }
};

}  // namespace samba

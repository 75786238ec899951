// SwiGLU's primitives on the CPU: the gate and up GEMMs into [T, d_ff] each, the gate applied in
// place (vectorised, with cpu_detail::fast_exp); the down GEMM.
#pragma once

#include "samba/core/backend.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/math.hpp"
#include "samba/cpu/parallel.hpp"
#include "samba/cpu/simd.hpp"
#include "samba/layers/swiglu.hpp"

namespace samba {

template <StorageType W>
struct SwiGLUKernel<cpu, W> {
  using Layer = SwiGLU<cpu, W>;

  static void check(const Layer&, ConstMatrixView<float>, MatrixView<float>) {}

  static void gated_up(const Layer& layer, ConstMatrixView<float> x, MatrixView<float> h) {
    const index_t T = x.rows(), d_ff = layer.config().d_ff;
    auto up = detail::scratch<float, cpu>(T * d_ff);
    const auto& w = layer.weights();
    cpu_detail::linear(x, w.gate, w.gate_bias, h);
    cpu_detail::linear(x, w.up, w.up_bias, up.view<2>({T, d_ff}));
    const bool silu = layer.config().activation == GateActivation::silu;  // else GeGLU
    SAMBA_PARALLEL_FOR_IF(T * d_ff >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < T; ++t) {
      if (silu)
        cpu_detail::silu_mul(h.row(t), up.data() + t * d_ff, d_ff);
      else
        cpu_detail::gelu_mul(h.row(t), up.data() + t * d_ff, h.row(t), d_ff);
    }
  }

  static void linear(const Layer& layer, Tensor<W> SwiGLUWeights<W>::*weight,
                     ConstMatrixView<float> x, MatrixView<float> y) {
    detail::check(weight == &SwiGLUWeights<W>::down, "SwiGLU: gate and up are applied by gated_up");
    cpu_detail::linear(x, layer.weights().down, layer.weights().down_bias, y);
  }
};

}  // namespace samba

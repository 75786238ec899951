// SwiGLU on the CPU: two GEMMs into [T, d_ff], the gate applied in place (vectorised, with
// cpu_detail::fast_exp), one GEMM down.
#pragma once

#include "samba/core/backend.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/simd.hpp"
#include "samba/layers/swiglu.hpp"

namespace samba {

template <StorageType W>
struct SwiGLUKernel<cpu, W> {
  static void forward(const SwiGLU<cpu, W>& layer, ConstMatrixView<float> x, MatrixView<float> y) {
    const index_t T = x.rows(), d_ff = layer.config().d_ff;
    HostBuffer<float> gate(T * d_ff), up(T * d_ff);
    auto g = gate.view<2>({T, d_ff});
    auto u = up.view<2>({T, d_ff});
    cpu_detail::linear(x, layer.weights().gate, g);
    cpu_detail::linear(x, layer.weights().up, u);
    cpu_detail::silu_mul(gate.data(), up.data(), T * d_ff);
    cpu_detail::linear(ConstMatrixView<float>(g), layer.weights().down, y);
  }
};

}  // namespace samba

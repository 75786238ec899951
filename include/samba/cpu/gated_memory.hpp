// The Gated Memory Unit's primitives on the CPU.
#pragma once

#include "samba/core/backend.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/parallel.hpp"
#include "samba/cpu/simd.hpp"
#include "samba/layers/gated_memory.hpp"

namespace samba {

template <StorageType W>
struct GMUKernel<cpu, W> {
  static void check(const GatedMemoryUnit<cpu, W>&, ConstMatrixView<float>, MatrixView<float>) {}

  static void linear(const GatedMemoryUnit<cpu, W>& layer, Tensor<W> GMUWeights<W>::*weight,
                     ConstMatrixView<float> x, MatrixView<float> y) {
    cpu_detail::linear(x, layer.weights().*weight, y);
  }

  static void gate(MatrixView<float> g, ConstMatrixView<float> memory) {
    SAMBA_PARALLEL_FOR_IF(g.rows() * g.cols() >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < g.rows(); ++t) cpu_detail::silu_mul(g.row(t), memory.row(t), g.cols());
  }
};

}  // namespace samba

// PreNorm on the CPU: normalise into scratch, run the layer into y, add the residual.
#pragma once

#include "samba/core/backend.hpp"
#include "samba/stack/batch.hpp"
#include "samba/stack/pre_norm.hpp"

namespace samba {

template <>
struct PreNormKernel<cpu> {
  template <class Block>
  static void forward(const Block& block, std::span<typename Block::State* const> states,
                      std::span<const index_t> lengths, ConstMatrixView<float> x,
                      MatrixView<float> y) {
    const index_t T = x.rows(), d = block.d_model();
    HostBuffer<float> normed(T * d);
    block.norm().forward(x, normed.view<2>({T, d}));
    forward_batch(block.layer(), states, lengths, ConstMatrixView<float>(normed.view<2>({T, d})),
                  y);
    for (index_t t = 0; t < T; ++t) {
      const float* xr = x.row(t);
      float* yr = y.row(t);
      for (index_t i = 0; i < d; ++i) yr[i] += xr[i];
    }
  }
};

}  // namespace samba

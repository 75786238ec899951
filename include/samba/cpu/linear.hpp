// y = x · Wᵀ for a weight matrix W [out, in] stored as f32, bf16 or f16; compute in f32.
//
// f32 weights go straight to Eigen's GEMM. Narrow weights are widened a panel of rows at a time
// into an f32 scratch panel, so the extra memory is a few hundred KiB whatever the matrix size.
#pragma once

#include <algorithm>

#include "samba/core/dtype.hpp"
#include "samba/core/tensor.hpp"
#include "samba/cpu/eigen.hpp"

namespace samba::cpu_detail {

template <StorageType W>
void linear(ConstMatrixView<float> x, const Tensor<W>& w, MatrixView<float> y) {
  const index_t out = w.shape()[0], in = w.shape()[1];
  detail::check(x.cols() == in && y.cols() == out && x.rows() == y.rows(), "linear: x ",
                x.dyn_shape(), " · Wᵀ with W ", w.shape(), " into y ", y.dyn_shape());
  if (x.rows() == 0) return;
  auto X = as_eigen(x);
  auto Y = as_eigen(y);
  if constexpr (std::is_same_v<W, float>) {
    ConstMatrixMap Wm(w.data(), out, in, Eigen::OuterStride<>(in));
    Y.noalias() = X * Wm.transpose();
  } else {
    constexpr index_t panel_bytes = 256 * 1024;
    const index_t panel = std::min(std::max<index_t>(panel_bytes / (in * 4), 8), out);
    RowMatrix Wp(panel, in);
    for (index_t r0 = 0; r0 < out; r0 += panel) {
      const index_t rows = std::min(panel, out - r0);
      const W* src = w.data() + r0 * in;
      float* dst = Wp.data();
      for (index_t i = 0; i < rows * in; ++i) dst[i] = to_float(src[i]);
      Y.middleCols(r0, rows).noalias() = X * Wp.topRows(rows).transpose();
    }
  }
}

}  // namespace samba::cpu_detail

// FeedForward's primitives on the CPU: the projections through cpu_detail::linear, the activation
// as a loop.
#pragma once

#include <algorithm>

#include "samba/core/backend.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/layers/feed_forward.hpp"

namespace samba {

template <>
inline constexpr bool has_feed_forward_kernel<cpu> = true;

template <StorageType W>
struct FeedForwardKernel<cpu, W> {
  using Layer = FeedForward<cpu, W>;

  static void check(const Layer&, ConstMatrixView<float>, MatrixView<float>) {}

  static void linear(const Layer& layer, ConstMatrixView<float> x,
                     Tensor<W> FeedForwardWeights<W>::*weight, MatrixView<float> y) {
    cpu_detail::linear(x, layer.weights().*weight, y);
  }

  static void activate(const Layer&, MatrixView<float> h) {
    for (index_t t = 0; t < h.rows(); ++t) {
      float* r = h.row(t);
      for (index_t i = 0; i < h.cols(); ++i) {
        const float a = std::max(r[i], 0.0f);
        r[i] = a * a;
      }
    }
  }
};

}  // namespace samba

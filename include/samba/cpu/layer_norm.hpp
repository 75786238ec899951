// LayerNorm on the CPU: per row, the mean, then the variance of x − mean (two passes, so that a
// row far from zero keeps its precision), in f32.
#pragma once

#include <cmath>

#include "samba/core/backend.hpp"
#include "samba/layers/layer_norm.hpp"

namespace samba {

template <>
struct LayerNormKernel<cpu> {
  static void forward(const LayerNorm<cpu>& layer, ConstMatrixView<float> x, MatrixView<float> y) {
    const index_t d = layer.d_model();
    const float* w = layer.weights().weight.data();
    const float* b = layer.weights().bias.data();
    const float eps = layer.config().eps;
    const auto fd = static_cast<float>(d);
    for (index_t t = 0; t < x.rows(); ++t) {
      const float* xr = x.row(t);
      float* yr = y.row(t);
      float sum = 0.0f;
      for (index_t i = 0; i < d; ++i) sum += xr[i];
      const float mean = sum / fd;
      float ss = 0.0f;
      for (index_t i = 0; i < d; ++i) ss += (xr[i] - mean) * (xr[i] - mean);
      const float scale = 1.0f / std::sqrt(ss / fd + eps);
      for (index_t i = 0; i < d; ++i) yr[i] = (xr[i] - mean) * scale * w[i] + b[i];
    }
  }
};

}  // namespace samba

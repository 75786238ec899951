// RMSNorm on the CPU.
#pragma once

#include <cmath>

#include "samba/core/backend.hpp"
#include "samba/cpu/parallel.hpp"
#include "samba/layers/rmsnorm.hpp"

namespace samba {

template <>
struct RMSNormKernel<cpu> {
  static void forward(const RMSNorm<cpu>& layer, ConstMatrixView<float> x, MatrixView<float> y) {
    const index_t d = layer.d_model();
    const float* w = layer.weights().weight.data();
    const float eps = layer.config().eps;
    SAMBA_PARALLEL_FOR_IF(x.rows() * d >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < x.rows(); ++t) {
      const float* xr = x.row(t);
      float* yr = y.row(t);
      float ss = 0.0f;
      for (index_t i = 0; i < d; ++i) ss += xr[i] * xr[i];
      const float scale = 1.0f / std::sqrt(ss / static_cast<float>(d) + eps);
      for (index_t i = 0; i < d; ++i) yr[i] = xr[i] * scale * w[i];
    }
  }
};

}  // namespace samba

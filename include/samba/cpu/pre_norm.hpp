// PreNorm's primitives on the CPU (the steps are PreNorm::forward_batch's).
#pragma once

#include "samba/core/backend.hpp"
#include "samba/cpu/parallel.hpp"
#include "samba/stack/pre_norm.hpp"

namespace samba {

template <>
struct PreNormKernel<cpu> {
  static void check(ConstMatrixView<float>, MatrixView<float>) {}

  static void add_residual(ConstMatrixView<float> x, MatrixView<float> y) {
    SAMBA_PARALLEL_FOR_IF(x.rows() * x.cols() >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < x.rows(); ++t) {
      const float* xr = x.row(t);
      float* yr = y.row(t);
      for (index_t i = 0; i < x.cols(); ++i) yr[i] += xr[i];
    }
  }
};

}  // namespace samba

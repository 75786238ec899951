// PreNorm's primitives on the GPU (the steps are PreNorm::forward_batch's): the residual added in
// place.
#pragma once

#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"
#include "samba/cuda/layer_norm.cuh"
#include "samba/cuda/rmsnorm.cuh"
#include "samba/stack/pre_norm.hpp"

namespace samba {
namespace cuda_detail {

// y[t, i] += x[t, i]
template <class = void>
__global__ void residual_add_kernel(const float* __restrict__ x, long long ldx, float* y,
                                    long long ldy, int d, long long n) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = i / d, c = i % d;
    y[t * ldy + c] += x[t * ldx + c];
  }
}

}  // namespace cuda_detail

template <>
struct PreNormKernel<cuda> {
  static void check(ConstMatrixView<float> x, MatrixView<float> y) {
    cuda_detail::check_device_views("PreNorm", x, y);
  }

  static void add_residual(ConstMatrixView<float> x, MatrixView<float> y) {
    const long long n = static_cast<long long>(x.rows()) * x.cols();
    if (n == 0) return;
    cuda_detail::residual_add_kernel<>
        <<<cuda_detail::elementwise_grid(n), 256, 0, CudaContext::current().stream()>>>(
            x.data(), x.stride(0), y.data(), y.stride(0), cuda_detail::to_int(x.cols(), "d_model"),
            n);
    cuda_detail::check_launch("residual_add_kernel");
  }
};

}  // namespace samba

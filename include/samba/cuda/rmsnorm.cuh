// RMSNorm on the GPU: one block per row; the sum of squares is a block reduction (CUB), in f32.
#pragma once

#include <cub/block/block_reduce.cuh>

#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"
#include "samba/layers/rmsnorm.hpp"

namespace samba {
namespace cuda_detail {

inline constexpr int rmsnorm_threads = 256;

// y = x / sqrt(mean(x²) + eps) ⊙ w, one row per block.
template <class = void>
__global__ void __launch_bounds__(rmsnorm_threads)
    rmsnorm_kernel(const float* __restrict__ x, long long ldx, const float* __restrict__ w, int d,
                   float eps, float* __restrict__ y, long long ldy) {
  using Reduce = cub::BlockReduce<float, rmsnorm_threads>;
  __shared__ typename Reduce::TempStorage temp;
  __shared__ float scale;
  const float* xr = x + blockIdx.x * ldx;
  float* yr = y + blockIdx.x * ldy;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < d; i += rmsnorm_threads) ss = fmaf(xr[i], xr[i], ss);
  const float total = Reduce(temp).Sum(ss);
  if (threadIdx.x == 0) scale = rsqrtf(total / static_cast<float>(d) + eps);
  __syncthreads();
  for (int i = threadIdx.x; i < d; i += rmsnorm_threads) yr[i] = xr[i] * scale * w[i];
}

inline void rmsnorm(ConstMatrixView<float> x, const float* weight, float eps, MatrixView<float> y,
                    cudaStream_t stream) {
  if (x.rows() == 0) return;
  rmsnorm_kernel<><<<static_cast<unsigned>(x.rows()), rmsnorm_threads, 0, stream>>>(
      x.data(), x.stride(0), weight, to_int(x.cols(), "d_model"), eps, y.data(), y.stride(0));
  check_launch("rmsnorm_kernel");
}

}  // namespace cuda_detail

template <>
struct RMSNormKernel<cuda> {
  struct Resident {
    cuda_detail::DeviceMatrix<float> weight;
    Resident() = default;
    explicit Resident(const RMSNorm<cuda>& layer)
        : weight(cuda_detail::upload(layer.weights().weight)) {}
  };

  static void forward(const RMSNorm<cuda>& layer, ConstMatrixView<float> x, MatrixView<float> y) {
    cuda_detail::check_device_views("RMSNorm", x, y);
    cuda_detail::rmsnorm(x, layer.resident().weight.data(), layer.config().eps, y,
                         CudaContext::current().stream());
  }
};

}  // namespace samba

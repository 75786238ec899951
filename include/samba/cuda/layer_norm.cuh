// LayerNorm on the GPU: one block per row; the mean, then the sum of squares around it, each a
// block reduction (CUB), in f32.
#pragma once

#include <cub/block/block_reduce.cuh>

#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"
#include "samba/layers/layer_norm.hpp"

namespace samba {
namespace cuda_detail {

inline constexpr int layer_norm_threads = 256;

// y = (x − mean) / sqrt(var + eps) ⊙ w + b, one row per block.
template <class = void>
__global__ void __launch_bounds__(layer_norm_threads)
    layer_norm_kernel(const float* __restrict__ x, long long ldx, const float* __restrict__ w,
                      const float* __restrict__ b, int d, float eps, float* __restrict__ y,
                      long long ldy) {
  using Reduce = cub::BlockReduce<float, layer_norm_threads>;
  __shared__ typename Reduce::TempStorage temp;
  __shared__ float mean, scale;
  const float* xr = x + blockIdx.x * ldx;
  float* yr = y + blockIdx.x * ldy;
  float sum = 0.0f;
  for (int i = threadIdx.x; i < d; i += layer_norm_threads) sum += xr[i];
  const float total = Reduce(temp).Sum(sum);
  if (threadIdx.x == 0) mean = total / static_cast<float>(d);
  __syncthreads();  // mean is read below, and temp is reused
  float ss = 0.0f;
  for (int i = threadIdx.x; i < d; i += layer_norm_threads) {
    const float c = xr[i] - mean;
    ss = fmaf(c, c, ss);
  }
  const float squares = Reduce(temp).Sum(ss);
  if (threadIdx.x == 0) scale = rsqrtf(squares / static_cast<float>(d) + eps);
  __syncthreads();
  for (int i = threadIdx.x; i < d; i += layer_norm_threads)
    yr[i] = fmaf((xr[i] - mean) * scale, w[i], b[i]);
}

inline void layer_norm(ConstMatrixView<float> x, const float* weight, const float* bias, float eps,
                       MatrixView<float> y, cudaStream_t stream) {
  if (x.rows() == 0) return;
  layer_norm_kernel<><<<static_cast<unsigned>(x.rows()), layer_norm_threads, 0, stream>>>(
      x.data(), x.stride(0), weight, bias, to_int(x.cols(), "d_model"), eps, y.data(), y.stride(0));
  check_launch("layer_norm_kernel");
}

}  // namespace cuda_detail

template <>
struct LayerNormKernel<cuda> {
  struct Resident {
    cuda_detail::DeviceMatrix<float> weight, bias;
    Resident() = default;
    explicit Resident(const LayerNorm<cuda>& layer)
        : weight(cuda_detail::upload(layer.weights().weight)),
          bias(cuda_detail::upload(layer.weights().bias)) {}
  };

  static void forward(const LayerNorm<cuda>& layer, ConstMatrixView<float> x, MatrixView<float> y) {
    cuda_detail::check_device_views("LayerNorm", x, y);
    cuda_detail::layer_norm(x, layer.resident().weight.data(), layer.resident().bias.data(),
                            layer.config().eps, y, CudaContext::current().stream());
  }
};

}  // namespace samba

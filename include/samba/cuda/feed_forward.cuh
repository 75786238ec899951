// FeedForward's primitives on the GPU: the two projections through cuda/linear.cuh and relu² in
// place. Not run on a GPU yet (docs/cuda.md): compiled in CI, tested on a device by tests/cuda/.
#pragma once

#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"
#include "samba/cuda/linear.cuh"
#include "samba/layers/feed_forward.hpp"

namespace samba {
namespace cuda_detail {

template <class = void>
__global__ void relu2_kernel(float* __restrict__ h, long long n) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const float a = fmaxf(h[i], 0.0f);
    h[i] = a * a;
  }
}

}  // namespace cuda_detail

template <>
inline constexpr bool has_feed_forward_kernel<cuda> = true;

template <StorageType W>
struct FeedForwardKernel<cuda, W> {
  using Layer = FeedForward<cuda, W>;

  struct Resident {
    cuda_detail::DeviceMatrix<W> up, down;
    Resident() = default;
    explicit Resident(const Layer& layer)
        : up(cuda_detail::upload(layer.weights().up)),
          down(cuda_detail::upload(layer.weights().down)) {}
  };

  static void check(const Layer&, ConstMatrixView<float> x, MatrixView<float> y) {
    cuda_detail::check_device_views("FeedForward", x, y);
  }

  static void linear(const Layer& layer, ConstMatrixView<float> x,
                     Tensor<W> FeedForwardWeights<W>::*weight, MatrixView<float> y) {
    const Resident& r = layer.resident();
    cuda_detail::linear(x, weight == &FeedForwardWeights<W>::up ? r.up : r.down, y,
                        CudaContext::current());
  }

  static void activate(const Layer&, MatrixView<float> h) {
    const long long n = static_cast<long long>(h.rows()) * h.cols();
    if (n == 0) return;
    detail::check(h.stride(0) == h.cols() && h.stride(1) == 1,
                  "FeedForward on CUDA: h must be contiguous");
    cuda_detail::relu2_kernel<>
        <<<cuda_detail::elementwise_grid(n), 256, 0, CudaContext::current().stream()>>>(h.data(),
                                                                                        n);
    cuda_detail::check_launch("relu2_kernel");
  }
};

}  // namespace samba

// The Gated Memory Unit's primitives on the GPU: two projections (cuda/linear.cuh) around one
// elementwise silu(g) ⊙ m kernel.
#pragma once

#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"
#include "samba/cuda/linear.cuh"
#include "samba/layers/gated_memory.hpp"

namespace samba {
namespace cuda_detail {

template <class = void>
__global__ void gmu_gate_kernel(float* __restrict__ g, long long ld_g, const float* __restrict__ m,
                                long long ld_m, int width, long long n) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = i / width, c = i % width;
    float& v = g[t * ld_g + c];
    v = silu(v) * m[t * ld_m + c];
  }
}

}  // namespace cuda_detail

template <StorageType W>
struct GMUKernel<cuda, W> {
  using Layer = GatedMemoryUnit<cuda, W>;

  struct Resident {
    cuda_detail::DeviceMatrix<W> in_proj, out_proj;
    Resident() = default;
    explicit Resident(const Layer& layer)
        : in_proj(cuda_detail::upload(layer.weights().in_proj)),
          out_proj(cuda_detail::upload(layer.weights().out_proj)) {}
  };

  static void check(const Layer&, ConstMatrixView<float> x, MatrixView<float> y) {
    cuda_detail::check_device_views("GatedMemoryUnit", x, y);
  }

  static void linear(const Layer& layer, Tensor<W> GMUWeights<W>::*weight, ConstMatrixView<float> x,
                     MatrixView<float> y) {
    const auto& r = layer.resident();
    cuda_detail::linear(x, weight == &GMUWeights<W>::in_proj ? r.in_proj : r.out_proj, y,
                        CudaContext::current());
  }

  static void gate(MatrixView<float> g, ConstMatrixView<float> memory) {
    using namespace cuda_detail;
    const long long n = static_cast<long long>(g.rows()) * g.cols();
    if (n == 0) return;
    gmu_gate_kernel<><<<elementwise_grid(n), 256, 0, CudaContext::current().stream()>>>(
        g.data(), g.stride(0), memory.data(), memory.stride(0), to_int(g.cols(), "d_inner"), n);
    check_launch("gmu_gate_kernel");
  }
};

}  // namespace samba

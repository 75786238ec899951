// SwiGLU's primitives on the GPU: W_gate and W_up are uploaded as one [2·d_ff, d_model] matrix, so
// gated_up is one GEMM (or one pass over the weights in decode) and one fused silu(g) ⊙ u kernel;
// W_down is the second GEMM.
#pragma once

#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"
#include "samba/cuda/linear.cuh"
#include "samba/layers/swiglu.hpp"

namespace samba {
namespace cuda_detail {

// h[t, i] = act(gu[t, i] + b[i]) · (gu[t, d_ff + i] + b[d_ff + i]), act silu or (gelu)
// gelu_tanh; b (gate then up biases) may be null.
template <class = void>
__global__ void silu_mul_kernel(const float* __restrict__ gu, int d_ff, long long n,
                                float* __restrict__ h, bool gelu, const float* __restrict__ b) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = i / d_ff, c = i % d_ff;
    const float* row = gu + t * 2 * d_ff;
    const float g = row[c] + (b ? b[c] : 0.0f), u = row[d_ff + c] + (b ? b[d_ff + c] : 0.0f);
    h[i] = (gelu ? gelu_tanh(g) : silu(g)) * u;
  }
}

}  // namespace cuda_detail

template <StorageType W>
struct SwiGLUKernel<cuda, W> {
  struct Resident {
    cuda_detail::DeviceMatrix<W> gate_up;    // [2·d_ff, d_model]: gate rows, then up rows
    cuda_detail::DeviceMatrix<W> down;       // [d_model, d_ff]
    cuda_detail::DeviceFloats gate_up_bias;  // [2·d_ff] or null: no biases
    cuda_detail::DeviceFloats down_bias;     // [d_model] or null
    Resident() = default;
    explicit Resident(const SwiGLU<cuda, W>& layer)
        : gate_up(cuda_detail::upload<W>({&layer.weights().gate, &layer.weights().up})),
          down(cuda_detail::upload(layer.weights().down)) {
      const auto& w = layer.weights();
      if (layer.config().bias) {
        HostBuffer<float> b(2 * layer.config().d_ff);
        std::copy_n(w.gate_bias.data(), w.gate_bias.numel(), b.data());
        std::copy_n(w.up_bias.data(), w.up_bias.numel(), b.data() + w.gate_bias.numel());
        gate_up_bias = std::make_shared<const DeviceBuffer<float>>(to_device(b));
      }
      down_bias = cuda_detail::upload_floats(w.down_bias);
    }
  };

  using Layer = SwiGLU<cuda, W>;

  static void check(const Layer&, ConstMatrixView<float> x, MatrixView<float> y) {
    cuda_detail::check_device_views("SwiGLU", x, y);
  }

  static void gated_up(const Layer& layer, ConstMatrixView<float> x, MatrixView<float> h) {
    const index_t T = x.rows(), F = layer.config().d_ff;
    detail::check(h.stride(0) == F && h.stride(1) == 1, "SwiGLU on CUDA: h must be contiguous");
    CudaContext& ctx = CudaContext::current();
    auto gu = detail::scratch<float, cuda>(T * 2 * F);
    cuda_detail::linear(x, layer.resident().gate_up, gu.template view<2>({T, 2 * F}), ctx);
    const long long n = static_cast<long long>(T) * F;
    cuda_detail::silu_mul_kernel<><<<cuda_detail::elementwise_grid(n), 256, 0, ctx.stream()>>>(
        gu.data(), cuda_detail::to_int(F, "d_ff"), n, h.data(),
        layer.config().activation == GateActivation::gelu_tanh,
        layer.resident().gate_up_bias ? layer.resident().gate_up_bias->data() : nullptr);
    cuda_detail::check_launch("silu_mul_kernel");
  }

  // y = x · W_downᵀ (+ b_down) with the device copy (the only weight SwiGLU applies on its own).
  static void linear(const Layer& layer, Tensor<W> SwiGLUWeights<W>::*weight,
                     ConstMatrixView<float> x, MatrixView<float> y) {
    detail::check(weight == &SwiGLUWeights<W>::down,
                  "SwiGLU on CUDA: gate and up are applied together by gated_up");
    cuda_detail::linear(x, layer.resident().down, layer.resident().down_bias, y,
                        CudaContext::current());
  }
};

}  // namespace samba

// RGLRULayer's primitives on the GPU (the steps are RGLRULayer::forward_batch's):
//
//   linear   in_proj / out_proj through cuda/linear.cuh (cuBLAS for prefill, the weight-streaming
//            GEMV for decode), plus their bias;
//   conv     cuda_detail::conv_silu without the SiLU (RG-LRU's conv has no activation), its state
//            the last conv_width − 1 inputs;
//   rg_lru   the two gates' pre-activations for every row, one strided-batched cuBLAS GEMM each
//            (u's block h times the [bw, bw] matrix of block h), then rglru_scan_kernel: a thread
//            per channel of one sequence steps through time with h in a register, from the state's
//            h, resetting at position 0, and leaves the final h in the state (f32);
//   gate     h ⊙= gelu_tanh(y), elementwise.
#pragma once

#include <cublas_v2.h>

#include <memory>
#include <span>

#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"
#include "samba/cuda/linear.cuh"
#include "samba/cuda/mamba.cuh"
#include "samba/layers/rglru.hpp"

namespace samba {
namespace cuda_detail {

struct RglruSeq {
  int row0 = 0, len = 0;
  long long position = 0;  // of the sequence's first row
  float* h = nullptr;      // [width]
};

inline constexpr int rglru_threads = 128;

// h_t = a_t h_{t−1} + √(1 − a_t²) σ(gi_t + bi) u_t with log a_t = neg_c_sp · σ(gr_t + br); at
// position 0, a = 0 and the multiplier is 1.
template <class = void>
__global__ void __launch_bounds__(rglru_threads)
    rglru_scan_kernel(LaunchBatch<RglruSeq> batch, const float* __restrict__ u,
                      const float* __restrict__ gi, const float* __restrict__ gr,
                      const float* __restrict__ bi, const float* __restrict__ br,
                      const float* __restrict__ neg_c_sp, int width, float* __restrict__ out) {
  const RglruSeq seq = batch.seq[blockIdx.y];
  const int i = blockIdx.x * rglru_threads + threadIdx.x;
  if (i >= width) return;
  const float bii = bi[i], bri = br[i], ncs = neg_c_sp[i];
  float h = seq.h[i];
  for (int t = 0; t < seq.len; ++t) {
    const long long r = static_cast<long long>(seq.row0 + t) * width + i;
    const float in_gate = sigmoid(gi[r] + bii);
    const float log_a = ncs * sigmoid(gr[r] + bri);
    const bool reset = seq.position + t == 0;
    const float a = reset ? 0.0f : expf(log_a);
    const float m = reset ? 1.0f : sqrtf(-expm1f(2.0f * log_a));
    h = fmaf(a, h, m * in_gate * u[r]);
    out[r] = h;
  }
  seq.h[i] = h;
}

// h[t, i] ⊙= gelu_tanh(y[t, i]) (y rows at stride ld_y).
template <class = void>
__global__ void rglru_gate_kernel(const float* __restrict__ y, long long ld_y, int width,
                                  long long n, float* __restrict__ h) {
  for (long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = k / width, i = k % width;
    h[k] *= gelu_tanh(y[t * ld_y + i]);
  }
}

}  // namespace cuda_detail

template <>
inline constexpr bool has_rglru_kernel<cuda> = true;

template <StorageType W>
struct RGLRUKernel<cuda, W> {
  using Layer = RGLRULayer<cuda, W>;  // incomplete here: its State is a template parameter below

  struct Resident {
    cuda_detail::DeviceMatrix<W> in_proj;   // [2w, d_model]
    cuda_detail::DeviceMatrix<W> out_proj;  // [d_model, w]
    cuda_detail::DeviceFloats in_bias, out_bias, conv_weight, conv_bias, input_gate,
        input_gate_bias, recurrent_gate, recurrent_gate_bias;
    cuda_detail::DeviceFloats neg_c_sp;  // [w]: −c · softplus(Λ)
    Resident() = default;
    explicit Resident(const Layer& layer) {
      using cuda_detail::upload_floats;
      const auto& w = layer.weights();
      in_proj = cuda_detail::upload(w.in_proj);
      out_proj = cuda_detail::upload(w.out_proj);
      in_bias = upload_floats(w.in_bias);
      out_bias = upload_floats(w.out_bias);
      conv_weight = upload_floats(w.conv_weight);
      conv_bias = upload_floats(w.conv_bias);
      input_gate = upload_floats(w.input_gate);
      input_gate_bias = upload_floats(w.input_gate_bias);
      recurrent_gate = upload_floats(w.recurrent_gate);
      recurrent_gate_bias = upload_floats(w.recurrent_gate_bias);
      const index_t width = layer.config().width();
      HostBuffer<float> ncs(width);
      for (index_t i = 0; i < width; ++i)
        ncs[i] =
            static_cast<float>(-layer.config().c * math::softplus(w.recurrent_param.data()[i]));
      neg_c_sp = std::make_shared<const DeviceBuffer<float>>(to_device(ncs));
    }
  };

  static void check(const Layer& layer, ConstMatrixView<float> x, MatrixView<float> y) {
    cuda_detail::check_device_views("RGLRULayer", x, y);
    detail::check(layer.config().conv_width <= cuda_detail::mamba_max_conv,
                  "RGLRULayer on CUDA: a conv width up to ", cuda_detail::mamba_max_conv,
                  " is compiled in, got ", layer.config().conv_width);
  }

  static void linear(const Layer& layer, ConstMatrixView<float> x,
                     Tensor<W> RGLRUWeights<W>::*weight, Tensor<float> RGLRUWeights<W>::*,
                     MatrixView<float> y) {
    const Resident& r = layer.resident();
    const bool in = weight == &RGLRUWeights<W>::in_proj;
    cuda_detail::linear(x, in ? r.in_proj : r.out_proj, in ? r.in_bias : r.out_bias, y,
                        CudaContext::current());
  }

  template <class State>
  static void conv(const Layer& layer, std::span<State* const> states,
                   std::span<const index_t> lengths, ConstMatrixView<float> u,
                   MatrixView<float> out) {
    const Resident& r = layer.resident();
    cuda_detail::conv_silu("RGLRULayer", states, lengths, u, r.conv_weight->data(),
                           r.conv_bias->data(), layer.config().width(), layer.config().conv_width,
                           out, /*apply_silu=*/false);
  }

  template <class State>
  static void rg_lru(const Layer& layer, std::span<State* const> states,
                     std::span<const index_t> lengths, ConstMatrixView<float> u,
                     MatrixView<float> h) {
    using namespace cuda_detail;
    const RGLRUConfig& c = layer.config();
    const Resident& r = layer.resident();
    const index_t T = u.rows(), width = c.width(), bw = c.block_width();
    detail::check(u.stride(0) == width && h.stride(0) == width,
                  "RGLRULayer on CUDA: u and h must be [T, width] rows");
    CudaContext& ctx = CudaContext::current();
    auto gi = detail::scratch<float, cuda>(T * width);
    auto gr = detail::scratch<float, cuda>(T * width);
    // Column-major view: gate[h](j, t) = Σ_k G[h](k, j) · u(t, h·bw + k), i.e. the row-major
    // gate[t, h·bw + j] = Σ_k u[t, h·bw + k] · G[h][k][j].
    const float one = 1.0f, zero = 0.0f;
    const int n = to_int(bw, "block width"), rows = to_int(T, "tokens"),
              ld = to_int(width, "lru_width"), H = to_int(c.n_heads, "gate blocks");
    const auto gemm = [&](const float* g, float* out) {
      check_cublas(cublasSgemmStridedBatched(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, n, rows, n,
                                             &one, g, n, static_cast<long long>(n) * n, u.data(),
                                             ld, n, &zero, out, ld, n, H),
                   "cublasSgemmStridedBatched (RG-LRU gates)");
    };
    gemm(r.input_gate->data(), gi.data());
    gemm(r.recurrent_gate->data(), gr.data());
    const cudaStream_t stream = ctx.stream();
    for_each_launch<RglruSeq>(
        states, lengths,
        [](State& s, int row0, int len) {
          return RglruSeq{row0, len, static_cast<long long>(s.position), s.h.data()};
        },
        [&](const LaunchBatch<RglruSeq>& batch) {
          rglru_scan_kernel<>
              <<<dim3(blocks_for(width, rglru_threads), batch.n), rglru_threads, 0, stream>>>(
                  batch, u.data(), gi.data(), gr.data(), r.input_gate_bias->data(),
                  r.recurrent_gate_bias->data(), r.neg_c_sp->data(), ld, h.data());
          check_launch("rglru_scan_kernel");
        });
  }

  static void gate(const Layer&, ConstMatrixView<float> y, MatrixView<float> h) {
    using namespace cuda_detail;
    const long long n = static_cast<long long>(h.rows()) * h.cols();
    if (n == 0) return;
    rglru_gate_kernel<><<<elementwise_grid(n), 256, 0, CudaContext::current().stream()>>>(
        y.data(), y.stride(0), to_int(h.cols(), "lru_width"), n, h.data());
    check_launch("rglru_gate_kernel");
  }
};

}  // namespace samba

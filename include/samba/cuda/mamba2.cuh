// Mamba2Layer's primitives on the GPU: projections through cuda/linear.cuh, the causal conv +
// SiLU of Mamba-1's kernels (cuda/mamba.cuh) over the conv_dim channels of xBC, the SSM as
// cuda/linear_recurrence.cuh's recurrence (q = C, k = B, v = Δ·u, log decay Δ·A, per head), and
// the gated RMSNorm over groups of norm_group channels as one block per (row, group).
//
// Not run on a GPU yet (docs/cuda.md): compiled in CI, tested on a device by tests/cuda/.
#pragma once

#include "samba/cuda/linear_recurrence.cuh"
#include "samba/cuda/mamba.cuh"
#include "samba/layers/mamba2.hpp"

namespace samba {
namespace cuda_detail {

// g[t, h] = Δ·A[h], v[t, h·P + p] = Δ·u[t, h·P + p], Δ = clamp(softplus(dt[t, h] + dt_bias[h])).
template <class = void>
__global__ void mamba2_inputs_kernel(const float* __restrict__ xbc, long long ld_xbc,
                                     const float* __restrict__ dt, long long ld_dt,
                                     const float* __restrict__ dt_bias, const float* __restrict__ A,
                                     float dt_min, float dt_max, int H, int P,
                                     float* __restrict__ g, float* __restrict__ v, long long n) {
  const int di = H * P;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = i / di;
    const int c = static_cast<int>(i % di), h = c / P;
    const float d = fminf(fmaxf(softplus(dt[t * ld_dt + h] + dt_bias[h]), dt_min), dt_max);
    v[i] = d * xbc[t * ld_xbc + c];
    if (c % P == 0) g[t * H + h] = d * A[h];
  }
}

// y[t, c] += D[c / P] · u[t, c]
template <class = void>
__global__ void mamba2_skip_kernel(const float* __restrict__ xbc, long long ld_xbc,
                                   const float* __restrict__ D, int di, int P,
                                   float* __restrict__ y, long long n) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = i / di;
    const int c = static_cast<int>(i % di);
    y[i] += D[c / P] * xbc[t * ld_xbc + c];
  }
}

// y = RMSNorm_group(y ⊙ silu(z)) ⊙ weight, one block per (row, group).
template <class = void>
__global__ void mamba2_gated_norm_kernel(const float* __restrict__ z, long long ld_z,
                                         float* __restrict__ y, int di, int group,
                                         const float* __restrict__ weight, float eps) {
  __shared__ float partial[32];
  const long long t = blockIdx.x;
  const int g0 = blockIdx.y * group;
  float* yr = y + t * di;
  const float* zr = z + t * ld_z;
  float ss = 0.0f;
  for (int i = g0 + threadIdx.x; i < g0 + group; i += blockDim.x) {
    const float v = yr[i] * silu(zr[i]);
    yr[i] = v;
    ss = fmaf(v, v, ss);
  }
  ss = warp_sum(ss);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = ss;
  __syncthreads();
  if (threadIdx.x < 32) {
    float v = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : 0.0f;
    v = warp_sum(v);
    if (threadIdx.x == 0) partial[0] = v;
  }
  __syncthreads();
  const float r = rsqrtf(partial[0] / static_cast<float>(group) + eps);
  for (int i = g0 + threadIdx.x; i < g0 + group; i += blockDim.x) yr[i] *= r * weight[i];
}

}  // namespace cuda_detail

template <>
inline constexpr bool has_mamba2_kernel<cuda> = true;

template <StorageType W>
struct Mamba2Kernel<cuda, W> {
  using Layer = Mamba2Layer<cuda, W>;

  struct Resident {
    cuda_detail::DeviceMatrix<W> in_proj, out_proj;
    cuda_detail::DeviceMatrix<float> conv_weight, conv_bias, dt_bias, A, D, norm_weight;
    Resident() = default;
    explicit Resident(const Layer& layer) {
      const auto& w = layer.weights();
      in_proj = cuda_detail::upload(w.in_proj);
      out_proj = cuda_detail::upload(w.out_proj);
      conv_weight = cuda_detail::upload(w.conv_weight);
      conv_bias = cuda_detail::upload(w.conv_bias);
      dt_bias = cuda_detail::upload(w.dt_bias);
      A = cuda_detail::upload(layer.A());
      D = cuda_detail::upload(w.D);
      norm_weight = cuda_detail::upload(w.norm_weight);
    }
  };

  static void check(const Layer& layer, ConstMatrixView<float> x, MatrixView<float> y) {
    cuda_detail::check_device_views("Mamba2Layer", x, y);
    detail::check(layer.config().d_conv <= cuda_detail::mamba_max_conv,
                  "Mamba2Layer on CUDA: d_conv up to ", cuda_detail::mamba_max_conv,
                  " is compiled in, got ", layer.config().d_conv);
  }

  static void linear(const Layer& layer, Tensor<W> Mamba2Weights<W>::*weight,
                     ConstMatrixView<float> x, MatrixView<float> y) {
    const Resident& r = layer.resident();
    cuda_detail::linear(x, weight == &Mamba2Weights<W>::in_proj ? r.in_proj : r.out_proj, y,
                        CudaContext::current());
  }

  template <class State>
  static void conv_silu(const Layer& layer, std::span<State* const> states,
                        std::span<const index_t> lengths, ConstMatrixView<float> xbc,
                        MatrixView<float> out) {
    const Resident& w = layer.resident();
    cuda_detail::conv_silu<State>("Mamba2Layer", states, lengths, xbc, w.conv_weight.data(),
                                  w.conv_bias.data(), layer.config().conv_dim(),
                                  layer.config().d_conv, out);
  }

  template <class State>
  static void ssd(const Layer& layer, std::span<State* const> states,
                  std::span<const index_t> lengths, const Mamba2ScanInputs& in,
                  MatrixView<float> y) {
    using namespace cuda_detail;
    const Mamba2Config& c = layer.config();
    const index_t T = in.xbc.rows(), di = c.resolved_d_inner(), H = c.n_heads(), P = c.head_dim;
    const index_t N = c.d_state, G = c.n_groups;
    detail::check(y.stride(0) == di && y.stride(1) == 1 && in.xbc.stride(1) == 1,
                  "Mamba2Kernel<cuda>::ssd: y must be [T, d_inner] rows");
    const Resident& w = layer.resident();
    const cudaStream_t stream = CudaContext::current().stream();
    auto g = detail::scratch<float, cuda>(T * H);
    auto v = detail::scratch<float, cuda>(T * di);
    const long long n = static_cast<long long>(T) * di;
    mamba2_inputs_kernel<><<<elementwise_grid(n), 256, 0, stream>>>(
        in.xbc.data(), in.xbc.stride(0), in.dt.data(), in.dt.stride(0), w.dt_bias.data(),
        w.A.data(), c.dt_min, c.dt_max, to_int(H, "heads"), to_int(P, "head_dim"), g.data(),
        v.data(), n);
    check_launch("mamba2_inputs_kernel");
    RecurrenceArgs a;
    a.q = in.xbc.data() + di + G * N;  // C
    a.k = in.xbc.data() + di;          // B
    a.v = v.data();
    a.g = g.data();
    a.o = y.data();
    a.ld_q = a.ld_k = in.xbc.stride(0);
    a.ld_v = a.ld_o = di;
    a.ld_g = H;
    a.heads = to_int(H, "heads");
    a.groups = to_int(G, "n_groups");
    a.key_dim = to_int(N, "d_state");
    a.value_dim = to_int(P, "head_dim");
    gated_linear_recurrence<State>(
        states, lengths, a, [](State& s) { return s.ssm.data(); }, stream);
    mamba2_skip_kernel<><<<elementwise_grid(n), 256, 0, stream>>>(in.xbc.data(), in.xbc.stride(0),
                                                                  w.D.data(), to_int(di, "d_inner"),
                                                                  a.value_dim, y.data(), n);
    check_launch("mamba2_skip_kernel");
  }

  static void gated_norm(const Layer& layer, ConstMatrixView<float> z, MatrixView<float> y) {
    using namespace cuda_detail;
    const Mamba2Config& c = layer.config();
    const index_t di = c.resolved_d_inner(), ng = c.resolved_norm_group();
    if (y.rows() == 0) return;
    mamba2_gated_norm_kernel<><<<dim3(to_int(y.rows(), "rows"), to_int(di / ng, "groups")), 256, 0,
                                 CudaContext::current().stream()>>>(
        z.data(), z.stride(0), y.data(), to_int(di, "d_inner"), to_int(ng, "norm_group"),
        layer.resident().norm_weight.data(), c.norm_eps);
    check_launch("mamba2_gated_norm_kernel");
  }
};

}  // namespace samba

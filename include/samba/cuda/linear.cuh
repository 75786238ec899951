// y = x · Wᵀ on the GPU, for x [T, K] f32 and W [N, K] stored as f32, bf16 or f16; y [T, N] f32.
//
//   T ≤ gemv_max_rows (decode, small batches): one warp per output feature streams its weight row
//     once, 16 bytes per lane per load, and dots it with every row of x: the step is bound by the
//     weight bytes read, as decode must be.
//   larger T (prefill): cuBLAS. f32 weights: an f32 GEMM (no TF32). bf16/f16 weights: x is rounded
//     to the weight type and the GEMM runs on the tensor cores with f32 accumulation.
#pragma once

#include <cublas_v2.h>

#include "samba/cuda/common.cuh"

namespace samba::cuda_detail {

inline constexpr index_t gemv_max_rows = 8;
inline constexpr int gemv_warps = 8;

// VEC weights per lane per load: 4 f32 or 8 bf16/f16 (16 bytes); VEC == 1 for unaligned data.
template <StorageType W, int VEC>
__device__ __forceinline__ void load_weights(const W* __restrict__ p, float (&out)[VEC]) {
  if constexpr (VEC == 1) {
    out[0] = to_f32(p[0]);
  } else if constexpr (std::is_same_v<W, float>) {
    static_assert(VEC == 4);
    const float4 v = __ldg(reinterpret_cast<const float4*>(p));
    out[0] = v.x, out[1] = v.y, out[2] = v.z, out[3] = v.w;
  } else {
    static_assert(VEC == 8);
    const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
    const std::uint32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      out[2 * i] = to_f32(W{static_cast<std::uint16_t>(words[i] & 0xffffu)});
      out[2 * i + 1] = to_f32(W{static_cast<std::uint16_t>(words[i] >> 16)});
    }
  }
}

template <int VEC>
__device__ __forceinline__ void load_x(const float* __restrict__ p, float (&out)[VEC]) {
  if constexpr (VEC == 1) {
    out[0] = p[0];
  } else {
#pragma unroll
    for (int i = 0; i < VEC / 4; ++i) {
      const float4 v = *reinterpret_cast<const float4*>(p + 4 * i);
      out[4 * i] = v.x, out[4 * i + 1] = v.y, out[4 * i + 2] = v.z, out[4 * i + 3] = v.w;
    }
  }
}

template <StorageType W, int VEC>
__global__ void __launch_bounds__(gemv_warps * 32)
    gemv_kernel(const float* __restrict__ x, long long ldx, const W* __restrict__ w, int K, int N,
                float* __restrict__ y, long long ldy, int T) {
  const int lane = threadIdx.x % 32;
  const long long n = static_cast<long long>(blockIdx.x) * gemv_warps + threadIdx.x / 32;
  if (n >= N) return;
  const W* wr = w + n * K;
  float acc[gemv_max_rows] = {};
  for (int k = lane * VEC; k < K; k += 32 * VEC) {
    float wv[VEC];
    load_weights<W, VEC>(wr + k, wv);
#pragma unroll
    for (int t = 0; t < gemv_max_rows; ++t) {
      if (t < T) {
        float xv[VEC];
        load_x<VEC>(x + t * ldx + k, xv);
#pragma unroll
        for (int v = 0; v < VEC; ++v) acc[t] = fmaf(wv[v], xv[v], acc[t]);
      }
    }
  }
#pragma unroll
  for (int t = 0; t < gemv_max_rows; ++t) {
    if (t < T) {
      const float s = warp_sum(acc[t]);
      if (lane == 0) y[t * ldy + n] = s;
    }
  }
}

template <StorageType W>
__global__ void narrow_kernel(const float* __restrict__ x, long long ldx, int K, long long n,
                              W* __restrict__ out) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = i / K, k = i % K;
    out[i] = from_f32<W>(x[t * ldx + k]);
  }
}

inline bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

template <StorageType W>
void linear(ConstMatrixView<float> x, const DeviceMatrix<W>& w, MatrixView<float> y,
            CudaContext& ctx) {
  const index_t T = x.rows();
  detail::check(x.cols() == w.cols && y.cols() == w.rows && y.rows() == T, "CUDA linear: x [", T,
                ", ", x.cols(), "] · Wᵀ [", w.cols, ", ", w.rows, "] into y [", y.rows(), ", ",
                y.cols(), "]");
  if (T == 0 || w.rows == 0) return;
  const int K = to_int(w.cols, "in_features"), N = to_int(w.rows, "out_features");
  const cudaStream_t stream = ctx.stream();

  if (T <= gemv_max_rows) {
    constexpr int vec = std::is_same_v<W, float> ? 4 : 8;
    const bool vectorised =
        K % vec == 0 && aligned16(x.data()) && x.stride(0) % 4 == 0 && aligned16(w.data());
    const unsigned grid = blocks_for(N, gemv_warps);
    if (vectorised)
      gemv_kernel<W, vec><<<grid, gemv_warps * 32, 0, stream>>>(
          x.data(), x.stride(0), w.data(), K, N, y.data(), y.stride(0), static_cast<int>(T));
    else
      gemv_kernel<W, 1><<<grid, gemv_warps * 32, 0, stream>>>(
          x.data(), x.stride(0), w.data(), K, N, y.data(), y.stride(0), static_cast<int>(T));
    check_launch("gemv_kernel");
    return;
  }

  const float one = 1.0f, zero = 0.0f;
  const int rows = to_int(T, "tokens");
  const int ldy = to_int(y.stride(0), "output row stride");
  cublasHandle_t handle = ctx.cublas();
  if constexpr (std::is_same_v<W, float>) {
    check_cublas(
        cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, N, rows, K, &one, w.data(), CUDA_R_32F, K,
                     x.data(), CUDA_R_32F, to_int(x.stride(0), "input row stride"), &zero, y.data(),
                     CUDA_R_32F, ldy, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx (f32)");
  } else {
    DeviceBuffer<W> xn(T * K, DeviceBuffer<W>::uninitialized);
    const long long n = static_cast<long long>(T) * K;
    narrow_kernel<W>
        <<<static_cast<unsigned>(std::min<long long>((n + 255) / 256, 65535)), 256, 0, stream>>>(
            x.data(), x.stride(0), K, n, xn.data());
    check_launch("narrow_kernel");
    check_cublas(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, N, rows, K, &one, w.data(),
                              cuda_type_v<W>, K, xn.data(), cuda_type_v<W>, K, &zero, y.data(),
                              CUDA_R_32F, ldy, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                 "cublasGemmEx (16-bit weights, f32 accumulation)");
  }
}

// y[t, :] += b for every row t (b: y.cols() device floats).
template <class = void>
__global__ void add_bias_kernel(float* __restrict__ y, long long ldy, int cols, long long n,
                                const float* __restrict__ b) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = i / cols, c = i % cols;
    y[t * ldy + c] += b[c];
  }
}

// A layer's f32 tensor (a bias, RG-LRU's gates and conv) on the device, shared by copies of the
// layer; null where the tensor is empty (a layer without that bias).
using DeviceFloats = std::shared_ptr<const DeviceBuffer<float>>;
inline DeviceFloats upload_floats(const Tensor<float>& b) {
  return b.empty() ? nullptr
                   : std::make_shared<const DeviceBuffer<float>>(to_device(b.data(), b.numel()));
}

// y = x · Wᵀ (+ b where b, the bias, is not null).
template <StorageType W>
void linear(ConstMatrixView<float> x, const DeviceMatrix<W>& w, const DeviceFloats& b,
            MatrixView<float> y, CudaContext& ctx) {
  linear(x, w, y, ctx);
  const long long n = static_cast<long long>(y.rows()) * y.cols();
  if (!b || n == 0) return;
  add_bias_kernel<><<<elementwise_grid(n), 256, 0, ctx.stream()>>>(
      y.data(), y.stride(0), to_int(y.cols(), "out_features"), n, b->data());
  check_launch("add_bias_kernel");
}

}  // namespace samba::cuda_detail

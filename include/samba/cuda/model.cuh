// Model's primitives on the GPU (the steps are Model::forward_batch's): the embedding lookup, row
// gathering and the head (embedding scale, logit soft cap), on the device. The interface is the
// LanguageModel's: token ids and logits in host memory (logits may also be device memory), so
// Session, sampling and samba-cli's loop work unchanged; one forward call waits for its logits.
#pragma once

#include <cstdint>
#include <vector>

#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"
#include "samba/cuda/linear.cuh"
#include "samba/model/model.hpp"

namespace samba {
namespace cuda_detail {

// out[i, :] = scale · src[rows[i], :] as f32 (embedding rows of any storage type, or
// activations).
template <class T>
__global__ void gather_rows_kernel(const std::int32_t* __restrict__ rows, const T* __restrict__ src,
                                   long long ld_src, int d, long long n, float* __restrict__ out,
                                   float scale) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long r = i / d, c = i % d;
    const float v = to_f32(src[rows[r] * ld_src + c]);
    out[i] = scale == 1.0f ? v : v * scale;
  }
}

// out[i, :] = scale · src[rows[i], :] for the n_rows device row indices in rows.
template <class T>
void gather_rows(const std::int32_t* rows, index_t n_rows, const T* src, index_t ld_src, index_t d,
                 float* out, cudaStream_t stream, float scale = 1.0f) {
  const long long n = static_cast<long long>(n_rows) * d;
  if (n == 0) return;
  gather_rows_kernel<T><<<elementwise_grid(n), 256, 0, stream>>>(
      rows, src, ld_src, to_int(d, "d_model"), n, out, scale);
  check_launch("gather_rows_kernel");
}

// v ← cap · tanh(v / cap) for n values.
template <class = void>
__global__ void soft_cap_kernel(float* __restrict__ v, long long n, float cap) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x)
    v[i] = cap * tanhf(v[i] / cap);
}

}  // namespace cuda_detail

template <StorageType W>
struct ModelKernel<cuda, W> {
  struct Resident {
    cuda_detail::DeviceMatrix<W> embedding;  // [rows ≥ vocab, d_model]
    cuda_detail::DeviceMatrix<W> head;       // the embedding itself when tied
    Resident() = default;
    template <class M>
    explicit Resident(const M& model) : embedding(cuda_detail::upload(model.embedding())) {
      head = model.tied() ? embedding : cuda_detail::upload(model.head());
    }
  };

  // Token ids were checked against the vocabulary by Model::forward_batch.
  template <class M>
  static void embed(const M& model, std::span<const std::int32_t> tokens, MatrixView<float> x) {
    const auto T = static_cast<index_t>(tokens.size());
    const index_t d = model.d_model();
    const DeviceBuffer<std::int32_t> ids = to_device(tokens.data(), T);
    cuda_detail::gather_rows(ids.data(), T, model.resident().embedding.data(), d, d, x.data(),
                             CudaContext::current().stream(), model.options().embedding_scale);
  }

  static void gather_rows(ConstMatrixView<float> src, std::span<const index_t> rows,
                          MatrixView<float> out) {
    std::vector<std::int32_t> ids(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
      ids[i] = cuda_detail::to_int(rows[i], "row index");
    const auto n = static_cast<index_t>(ids.size());
    const DeviceBuffer<std::int32_t> device_ids = to_device(ids.data(), n);
    cuda_detail::gather_rows(device_ids.data(), n, src.data(), src.stride(0), src.cols(),
                             out.data(), CudaContext::current().stream());
  }

  // The head into device scratch, then copied into the caller's logits (host or device memory);
  // waits for the copy, so the logits are there when this returns.
  template <class M>
  static void head(const M& model, ConstMatrixView<float> normed, MatrixView<float> logits) {
    using namespace cuda_detail;
    const index_t rows = normed.rows(), n_logits = model.n_logits();
    if (rows == 0) return;
    CudaContext& ctx = CudaContext::current();
    DeviceBuffer<float> out(rows * n_logits, DeviceBuffer<float>::uninitialized);
    linear(normed, model.resident().head, out.view<2>({rows, n_logits}), ctx);
    if (const float cap = model.options().logit_soft_cap; cap > 0.0f) {
      const long long n = static_cast<long long>(rows) * n_logits;
      soft_cap_kernel<><<<elementwise_grid(n), 256, 0, ctx.stream()>>>(out.data(), n, cap);
      check_launch("soft_cap_kernel");
    }
    check_cuda(cudaMemcpy2DAsync(logits.data(), static_cast<std::size_t>(logits.stride(0)) * 4,
                                 out.data(), static_cast<std::size_t>(n_logits) * 4,
                                 static_cast<std::size_t>(n_logits) * 4,
                                 static_cast<std::size_t>(rows), cudaMemcpyDefault, ctx.stream()),
               "cudaMemcpy2DAsync (logits)");
    ctx.synchronize();
  }
};

}  // namespace samba

// Model on the GPU: embedding lookup, the stack, the final norm and the head, on the device. The
// interface is the LanguageModel's: token ids and logits in host memory (logits may also be device
// memory), so Session, sampling and samba-cli's loop work unchanged; one forward call waits for
// its logits.
#pragma once

#include <cstdint>
#include <vector>

#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"
#include "samba/cuda/linear.cuh"
#include "samba/model/model.hpp"

namespace samba {
namespace cuda_detail {

// out[i, :] = src[rows[i], :] as f32 (embedding rows of any storage type, or activations).
template <class T>
__global__ void gather_rows_kernel(const std::int32_t* __restrict__ rows, const T* __restrict__ src,
                                   long long ld_src, int d, long long n, float* __restrict__ out) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long r = i / d, c = i % d;
    out[i] = to_f32(src[rows[r] * ld_src + c]);
  }
}

template <class T>
void gather_rows(const DeviceBuffer<std::int32_t>& rows, const T* src, index_t ld_src, index_t d,
                 DeviceBuffer<float>& out, cudaStream_t stream) {
  const long long n = static_cast<long long>(rows.size()) * d;
  if (n == 0) return;
  gather_rows_kernel<T><<<elementwise_grid(n), 256, 0, stream>>>(
      rows.data(), src, ld_src, to_int(d, "d_model"), n, out.data());
  check_launch("gather_rows_kernel");
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

  template <class M>
  static void forward(const M& model, std::span<typename M::State* const> states,
                      std::span<const index_t> lengths, std::span<const std::int32_t> tokens,
                      MatrixView<float> logits, LogitsFor which) {
    using namespace cuda_detail;
    const auto T = static_cast<index_t>(tokens.size());
    const index_t d = model.d_model(), n_logits = model.n_logits();
    CudaContext& ctx = CudaContext::current();
    const cudaStream_t stream = ctx.stream();
    const Resident& w = model.resident();

    // Token ids were checked against the vocabulary by Model::forward_batch.
    const DeviceBuffer<std::int32_t> ids = to_device(tokens.data(), T);
    DeviceBuffer<float> x(T * d, DeviceBuffer<float>::uninitialized);
    DeviceBuffer<float> h(T * d, DeviceBuffer<float>::uninitialized);
    gather_rows(ids, w.embedding.data(), d, d, x, stream);
    model.stack().forward_batch(states, lengths, ConstMatrixView<float>(x.view<2>({T, d})),
                                h.view<2>({T, d}));

    // Rows that get logits: all of them, or each sequence's last.
    DeviceBuffer<float> picked;
    const DeviceBuffer<float>* sel = &h;
    index_t rows = T;
    if (which == LogitsFor::last_token) {
      std::vector<std::int32_t> last;
      index_t end = 0;
      for (const index_t len : lengths) last.push_back(static_cast<std::int32_t>((end += len) - 1));
      rows = static_cast<index_t>(last.size());
      const DeviceBuffer<std::int32_t> last_rows = to_device(last.data(), rows);
      picked = DeviceBuffer<float>(rows * d, DeviceBuffer<float>::uninitialized);
      gather_rows(last_rows, h.data(), d, d, picked, stream);
      sel = &picked;
    }
    DeviceBuffer<float> normed(rows * d, DeviceBuffer<float>::uninitialized);
    model.final_norm().forward(sel->view<2>({rows, d}), normed.view<2>({rows, d}));
    DeviceBuffer<float> out(rows * n_logits, DeviceBuffer<float>::uninitialized);
    linear(ConstMatrixView<float>(normed.view<2>({rows, d})), w.head, out.view<2>({rows, n_logits}),
           ctx);
    if (rows == 0) return;
    check_cuda(cudaMemcpy2DAsync(logits.data(), static_cast<std::size_t>(logits.stride(0)) * 4,
                                 out.data(), static_cast<std::size_t>(n_logits) * 4,
                                 static_cast<std::size_t>(n_logits) * 4,
                                 static_cast<std::size_t>(rows), cudaMemcpyDefault, stream),
               "cudaMemcpy2DAsync (logits)");
    ctx.synchronize();
  }
};

}  // namespace samba

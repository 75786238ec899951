// Pieces every CUDA kernel file shares: storage types on the device, device copies of weights,
// checks of device views, ragged batches passed to kernels by value, warp reductions.
//
// Every kernel in these headers is a template, `template <class = void>` where nothing needs a
// parameter: a plain __global__ function defined in a header would be defined again by every
// translation unit that includes it, and `static` would give each unit its own copy (and its own
// shared-memory opt-in). A template is defined once per program, like the rest of the library.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <span>
#include <string_view>

#include "samba/core/dtype.hpp"
#include "samba/core/math.hpp"
#include "samba/core/tensor.hpp"
#include "samba/cuda/buffer.cuh"

namespace samba::cuda_detail {

// silu, softplus, the index math of the kernels (conv_source, block_keys, ...): core/math.hpp.
using namespace samba::math;

// --- storage types on the device ---------------------------------------------------------------

__device__ __forceinline__ float to_f32(float v) {
  return v;
}
__device__ __forceinline__ float to_f32(bf16 v) {
  return __uint_as_float(static_cast<std::uint32_t>(v.bits) << 16);
}
__device__ __forceinline__ float to_f32(f16 v) {
  return __half2float(__ushort_as_half(v.bits));
}

template <StorageType W>
__device__ __forceinline__ W from_f32(float v) {
  if constexpr (std::is_same_v<W, float>)
    return v;
  else if constexpr (std::is_same_v<W, bf16>)
    return W{__bfloat16_as_ushort(__float2bfloat16_rn(v))};
  else
    return W{__half_as_ushort(__float2half_rn(v))};
}

template <StorageType W>
inline constexpr cudaDataType_t cuda_type_v = std::is_same_v<W, float>  ? CUDA_R_32F
                                              : std::is_same_v<W, bf16> ? CUDA_R_16BF
                                                                        : CUDA_R_16F;

// --- device copies of weights ------------------------------------------------------------------

// A row-major [rows, cols] matrix in device memory, shared by copies of the layer that owns it.
template <StorageType T>
struct DeviceMatrix {
  index_t rows = 0, cols = 0;
  std::shared_ptr<const DeviceBuffer<T>> buffer;

  const T* data() const { return buffer ? buffer->data() : nullptr; }
};

// Uploads host tensors stacked along their first dimension (e.g. W_q, W_k, W_v as one [q + 2·kv,
// d_model] matrix, so one GEMM projects all three). Rank-1 tensors are columns of one.
template <StorageType T>
DeviceMatrix<T> upload(std::initializer_list<const Tensor<T>*> parts) {
  index_t rows = 0, cols = -1;
  for (const Tensor<T>* t : parts) {
    const index_t c = t->shape().rank() == 1 ? 1 : t->shape()[1];
    detail::check(cols < 0 || c == cols, "CUDA upload: stacked tensors differ in width (", cols,
                  " and ", c, ")");
    cols = c;
    rows += t->shape()[0];
  }
  HostBuffer<T> staged(rows * cols);
  index_t at = 0;
  for (const Tensor<T>* t : parts) {
    std::copy_n(t->data(), t->numel(), staged.data() + at);
    at += t->numel();
  }
  return {rows, cols, std::make_shared<const DeviceBuffer<T>>(to_device(staged))};
}
template <StorageType T>
DeviceMatrix<T> upload(const Tensor<T>& t) {
  return upload<T>({&t});
}

// --- checks of the views handed to the backend -------------------------------------------------

// Views given to a CUDA layer must point at device memory: a host pointer here would be read by
// the GPU as garbage (or fault), so it is an error that names the layer and the tensor.
inline void check_device_pointer(std::string_view layer, std::string_view what, const void* p) {
  if (!p) return;
  cudaPointerAttributes attr{};
  const cudaError_t e = cudaPointerGetAttributes(&attr, p);
  if (e != cudaSuccess) (void)cudaGetLastError();
  detail::check(
      e == cudaSuccess && (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged),
      layer, ": ", what, " is not device memory (the CUDA backend takes views of ",
      "DeviceBuffers; copy host data with samba::to_device)");
}
inline void check_device_views(std::string_view layer, ConstMatrixView<float> x,
                               ConstMatrixView<float> y) {
  check_device_pointer(layer, "input", x.data());
  check_device_pointer(layer, "output", y.data());
}

// Sizes handed to kernels and cuBLAS as 32-bit ints.
inline int to_int(index_t v, std::string_view what) {
  detail::check(v >= 0 && v <= std::numeric_limits<int>::max(), "CUDA backend: ", what, " (", v,
                ") exceeds the 32-bit range of the kernels");
  return static_cast<int>(v);
}

// --- ragged batches ----------------------------------------------------------------------------

// A batch of sequences is handed to a kernel by value (no host-to-device copy, nothing to free,
// and a captured graph holds its own copy): up to max_launch_seqs per launch, in groups.
inline constexpr int max_launch_seqs = 32;

template <class Seq>
struct LaunchBatch {
  int n = 0;
  int max_len = 0;
  Seq seq[max_launch_seqs];
};

// Calls launch(batch) for consecutive groups of at most max_launch_seqs sequences; make(s, row0,
// len) fills the entry of sequence s, whose rows start at row0. Empty sequences are left out.
template <class Seq, class State, class Make, class Launch>
void for_each_launch(std::span<State* const> states, std::span<const index_t> lengths, Make&& make,
                     Launch&& launch) {
  LaunchBatch<Seq> batch;
  index_t row0 = 0;
  for (std::size_t s = 0; s < states.size(); ++s) {
    const index_t len = lengths[s];
    if (len > 0) {
      batch.seq[batch.n++] = make(*states[s], to_int(row0, "row offset"), to_int(len, "length"));
      batch.max_len = std::max(batch.max_len, static_cast<int>(len));
      if (batch.n == max_launch_seqs) {
        launch(batch);
        batch = {};
      }
    }
    row0 += len;
  }
  if (batch.n > 0) launch(batch);
}

// --- small device helpers ----------------------------------------------------------------------

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

inline unsigned blocks_for(index_t n, int per_block) {
  return static_cast<unsigned>((n + per_block - 1) / per_block);
}
// A grid-stride launch of 256-thread blocks over n elements.
inline unsigned elementwise_grid(long long n) {
  return static_cast<unsigned>(std::clamp<long long>((n + 255) / 256, 1, 65535));
}

}  // namespace samba::cuda_detail

// DeviceBuffer<T>: owning, zero-initialised device memory, the buffer type of the samba::cuda
// backend (layer states, scratch, activations). The device twin of HostBuffer: same members, views
// of its memory are TensorViews holding device pointers.
//
// Copies are deep (device-to-device, stream-ordered): copying a layer State is a snapshot, as on
// the CPU. Memory comes from the calling thread's DeviceAllocator (cuda/runtime.cuh) and goes back
// to it, so buffers of a decode step are recycled rather than allocated.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include "samba/core/tensor.hpp"
#include "samba/cuda/runtime.cuh"

namespace samba {

template <class T>
class DeviceBuffer {
  static_assert(std::is_trivially_copyable_v<T>,
                "DeviceBuffer holds trivially copyable elements only");

 public:
  struct uninitialized_t {};
  static constexpr uninitialized_t uninitialized{};

  DeviceBuffer() = default;
  // n zeroed elements.
  explicit DeviceBuffer(index_t n) : DeviceBuffer(n, uninitialized) {
    if (size_ > 0)
      cuda_detail::check_cuda(cudaMemsetAsync(data_, 0, bytes(), stream()), "cudaMemsetAsync");
  }
  // n elements of unspecified value (scratch that is written before it is read).
  DeviceBuffer(index_t n, uninitialized_t) : size_(n) {
    detail::check(n >= 0, "DeviceBuffer: negative size ", n);
    if (n > 0) {
      allocator_ = CudaContext::current().allocator_handle();
      data_ = static_cast<T*>(allocator_->allocate(bytes()));
    }
  }
  DeviceBuffer(const DeviceBuffer& o) : DeviceBuffer(o.size_, uninitialized) {
    if (size_ > 0)
      cuda_detail::check_cuda(
          cudaMemcpyAsync(data_, o.data_, bytes(), cudaMemcpyDeviceToDevice, stream()),
          "cudaMemcpyAsync (DeviceBuffer copy)");
  }
  DeviceBuffer& operator=(const DeviceBuffer& o) {
    if (this != &o) *this = DeviceBuffer(o);
    return *this;
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        allocator_(std::move(o.allocator_)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      allocator_ = std::move(o.allocator_);
    }
    return *this;
  }
  ~DeviceBuffer() { release(); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  index_t size() const { return size_; }
  std::size_t bytes() const { return static_cast<std::size_t>(size_) * sizeof(T); }

  template <std::size_t Rank>
  TensorView<T, Rank> view(std::array<index_t, Rank> shape) {
    return detail::checked_view("DeviceBuffer", data(), size_, shape);
  }
  template <std::size_t Rank>
  TensorView<const T, Rank> view(std::array<index_t, Rank> shape) const {
    return detail::checked_view("DeviceBuffer", data(), size_, shape);
  }

 private:
  static cudaStream_t stream() { return CudaContext::current().stream(); }

  void release() noexcept {
    if (!data_) return;
    // (A thread without a context has enqueued nothing to wait for.)
    if (CudaContext* ctx = CudaContext::existing()) ctx->wait_before_release(allocator_.get());
    allocator_->deallocate(data_, bytes());
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  index_t size_ = 0;
  std::shared_ptr<DeviceAllocator> allocator_;
};

// --- host <-> device ---------------------------------------------------------------------------

// A device copy of n host elements (enqueued; the host memory may be reused on return).
template <class T>
DeviceBuffer<T> to_device(const T* host, index_t n) {
  DeviceBuffer<T> d(n, DeviceBuffer<T>::uninitialized);
  if (n > 0) {
    CudaContext& ctx = CudaContext::current();
    cuda_detail::check_cuda(
        cudaMemcpyAsync(d.data(), host, d.bytes(), cudaMemcpyHostToDevice, ctx.stream()),
        "cudaMemcpyAsync (to_device)");
    // Pageable host memory: the copy is staged before cudaMemcpyAsync returns, but make the
    // contract explicit for pinned memory too.
    ctx.synchronize();
  }
  return d;
}
template <class T>
DeviceBuffer<T> to_device(const HostBuffer<T>& host) {
  return to_device(host.data(), host.size());
}

// Waits for the work enqueued on this thread's stream, then copies n device elements to the host.
template <class T>
void copy_to_host(const T* device, index_t n, T* host) {
  if (n <= 0) return;
  CudaContext& ctx = CudaContext::current();
  cuda_detail::check_cuda(cudaMemcpyAsync(host, device, static_cast<std::size_t>(n) * sizeof(T),
                                          cudaMemcpyDeviceToHost, ctx.stream()),
                          "cudaMemcpyAsync (to_host)");
  ctx.synchronize();
}
template <class T>
HostBuffer<T> to_host(const DeviceBuffer<T>& device) {
  HostBuffer<T> h(device.size());
  copy_to_host(device.data(), device.size(), h.data());
  return h;
}

}  // namespace samba

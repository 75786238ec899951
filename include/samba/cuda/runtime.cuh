// The CUDA runtime side of the samba::cuda backend: errors, the device query, the caching device
// allocator and the per-thread context (stream, cuBLAS handle, allocator).
//
// Every samba call on the CUDA backend is stream-ordered on the calling thread's context stream and
// returns without waiting for the device; to_host() (cuda/buffer.cuh) and
// CudaContext::synchronize() are the only calls that wait. A forward pass never synchronises with
// the host, so a decode step can be captured in a CUDA graph (cuda/graph.cuh).
//
// Memory: DeviceBuffer takes its memory from a DeviceAllocator, which keeps freed blocks in
// per-size free lists and hands them out again in stream order. After the first step of a given
// shape, a forward pass (its scratch, the HybridStack's ping-pong activations) is served entirely
// from the cache: no cudaMalloc, no cudaFree, no implicit synchronisation.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "samba/core/error.hpp"

namespace samba {

// Thrown by a kernel that cannot run inside CUDA graph capture (a KV cache that must grow). The
// CudaGraphDecoder grows the caches of a HybridStack's attention blocks before it captures, so this
// means a layout it does not know (an attention layer nested deeper); the step is then abandoned
// part-way, with host-side positions of the blocks before it already advanced: the states are not
// usable afterwards.
class capture_conflict : public error {
 public:
  using error::error;
};

namespace cuda_detail {

inline void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) detail::fail("CUDA: ", what, " failed: ", cudaGetErrorString(e));
}

inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS:
      return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "architecture mismatch";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "execution failed";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "not supported";
    default:
      return "error";
  }
}

inline void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    detail::fail("cuBLAS: ", what, " failed: ", cublas_status_name(s), " (status ",
                 static_cast<int>(s), ")");
}

// Checks the launch of the kernel just enqueued (bad configuration, missing image for this GPU).
inline void check_launch(const char* kernel) {
  check_cuda(cudaGetLastError(), kernel);
}

}  // namespace cuda_detail

// True when a CUDA device is present and usable by this process (a driver, a device, and a CUDA
// runtime the driver supports). Tests of the CUDA backend skip themselves when it is false.
inline bool cuda_device_available() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no device" / "driver too old" error
    return false;
  }
  return n > 0;
}

// A caching allocator of device memory: blocks are rounded up (512 B, then to a 1/8 step of their
// power of two) and kept in free lists by size when released. Reuse is safe without events because
// every user of an allocator enqueues on the one stream it belongs to: a block released after the
// kernels that used it were enqueued is handed out to kernels enqueued later on the same stream.
class DeviceAllocator {
 public:
  explicit DeviceAllocator(cudaStream_t stream) : stream_(stream) {}
  DeviceAllocator(const DeviceAllocator&) = delete;
  DeviceAllocator& operator=(const DeviceAllocator&) = delete;
  ~DeviceAllocator() { release_cached(); }

  static std::size_t round_size(std::size_t bytes) {
    if (bytes <= 512) return 512;
    std::size_t pow2 = 512;
    while (pow2 < bytes) pow2 <<= 1;
    const std::size_t step = pow2 / 8;
    return (bytes + step - 1) / step * step;
  }

  void* allocate(std::size_t bytes) {
    const std::size_t size = round_size(bytes);
    {
      std::lock_guard lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        return p;
      }
    }
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, size);
    if (e == cudaErrorMemoryAllocation && !capturing()) {
      // Out of memory: give the cached blocks back to the driver and try once more (not while a
      // graph is captured on the stream: the synchronisation would invalidate the capture).
      (void)cudaGetLastError();
      release_cached();
      e = cudaMalloc(&p, size);
    }
    cuda_detail::check_cuda(e, "cudaMalloc");
    std::lock_guard lock(mutex_);
    reserved_bytes_ += size;
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    if (!p) return;
    std::lock_guard lock(mutex_);
    free_[round_size(bytes)].push_back(p);
  }

  // Frees every cached (unused) block; blocks in use are untouched.
  void release_cached() noexcept {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) (void)cudaStreamSynchronize(stream_);
    for (auto& [size, blocks] : free_) {
      for (void* p : blocks) {
        (void)cudaFree(p);
        reserved_bytes_ -= size;
      }
    }
    free_.clear();
  }

  cudaStream_t stream() const { return stream_; }
  bool capturing() const {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    return cudaStreamIsCapturing(stream_, &status) == cudaSuccess &&
           status != cudaStreamCaptureStatusNone;
  }
  // Bytes obtained from cudaMalloc and not yet returned (in use or cached).
  std::size_t reserved_bytes() const {
    std::lock_guard lock(mutex_);
    return reserved_bytes_;
  }

 private:
  cudaStream_t stream_;
  mutable std::mutex mutex_;
  std::map<std::size_t, std::vector<void*>> free_;
  std::size_t reserved_bytes_ = 0;
};

// The calling thread's CUDA context: a non-blocking stream, a cuBLAS handle bound to it (with a
// fixed workspace, as graph capture requires) and the allocator of device buffers. One per host
// thread, made on first use on the device current at that time; the allocator may be swapped for a
// graph's private pool while a graph is captured (cuda/graph.cuh).
class CudaContext {
 public:
  static CudaContext& current() {
    thread_local CudaContext context;
    return context;
  }
  // This thread's context if it exists (made and not yet destroyed), else null: for releasing
  // buffers, which must neither create a context nor touch one destroyed at thread exit.
  static CudaContext* existing() { return alive_; }

  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;
  ~CudaContext() {
    alive_ = nullptr;
    if (stream_) (void)cudaStreamSynchronize(stream_);
    allocator_.reset();
    if (cublas_) (void)cublasDestroy(cublas_);
    if (cublas_workspace_) (void)cudaFree(cublas_workspace_);
    if (stream_) (void)cudaStreamDestroy(stream_);
  }

  cudaStream_t stream() {
    init();
    return stream_;
  }
  cublasHandle_t cublas() {
    init();
    if (!cublas_) {
      cuda_detail::check_cublas(cublasCreate(&cublas_), "cublasCreate");
      cuda_detail::check_cublas(cublasSetStream(cublas_, stream_), "cublasSetStream");
      cuda_detail::check_cuda(cudaMalloc(&cublas_workspace_, cublas_workspace_bytes),
                              "cudaMalloc (cuBLAS workspace)");
      cuda_detail::check_cublas(
          cublasSetWorkspace(cublas_, cublas_workspace_, cublas_workspace_bytes),
          "cublasSetWorkspace");
      // Plain f32 arithmetic for f32 GEMMs (no TF32): the CUDA backend matches the CPU one.
      cuda_detail::check_cublas(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH),
                                "cublasSetMathMode");
    }
    return cublas_;
  }
  // The allocator device buffers made on this thread take their memory from.
  DeviceAllocator& allocator() {
    init();
    return active_ ? *active_ : *allocator_;
  }
  std::shared_ptr<DeviceAllocator> allocator_handle() {
    init();
    return active_ ? active_ : allocator_;
  }

  // For a buffer of allocator `a` being released on this thread: unless `a` is this thread's
  // allocator or the pool its allocations go to now, the block may still be in use by work on this
  // thread's stream, so wait for that work before the block can be handed out again.
  void wait_before_release(const DeviceAllocator* a) noexcept {
    if (stream_ && a != allocator_.get() && a != active_.get())
      (void)cudaStreamSynchronize(stream_);
  }

  // Waits for everything enqueued on this thread's stream.
  void synchronize() { cuda_detail::check_cuda(cudaStreamSynchronize(stream()), "synchronize"); }

  // True while this thread's stream is being captured into a graph.
  bool capturing() {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    cuda_detail::check_cuda(cudaStreamIsCapturing(stream(), &status), "cudaStreamIsCapturing");
    return status != cudaStreamCaptureStatusNone;
  }

  // Routes this thread's allocations to `pool` (a graph's private pool) until reset with nullptr.
  void set_allocation_pool(std::shared_ptr<DeviceAllocator> pool) { active_ = std::move(pool); }

 private:
  static constexpr std::size_t cublas_workspace_bytes = std::size_t{32} << 20;

  CudaContext() { alive_ = this; }

  void init() {
    if (stream_) return;
    detail::check(cuda_device_available(), "CUDA: no usable CUDA device in this process");
    cuda_detail::check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking),
                            "cudaStreamCreate");
    allocator_ = std::make_shared<DeviceAllocator>(stream_);
  }

  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  void* cublas_workspace_ = nullptr;
  std::shared_ptr<DeviceAllocator> allocator_;
  std::shared_ptr<DeviceAllocator> active_;
  static inline thread_local CudaContext* alive_ = nullptr;
};

}  // namespace samba

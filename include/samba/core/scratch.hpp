// Scratch memory for the CPU kernels, from a per-thread arena that keeps its capacity: a call takes
// what it needs and hands it back in reverse order, so once a thread has run a call of some shape,
// calls of that shape or smaller allocate nothing (docs/architecture.md, "Scratch").
//
//   ScratchBuffer<float> h(T * d_ff);   // uninitialised; h.data(), h.view<2>({T, d_ff})
//
// The arena grows while a call needs more than it holds: it adds a block at least twice its size
// (earlier blocks may still hold live buffers), and when the thread's last buffer is handed back
// keeps only the newest block, which then holds what every block held. It keeps its peak until the
// thread ends or release_thread_scratch() is called. A ScratchBuffer belongs to the thread that
// made it and is destroyed before the next older one (it cannot be copied or moved), which C++
// scopes do by themselves.
//
// With SAMBA_SCRATCH_POISON defined (the test builds), every buffer starts as 0xFF bytes, a NaN in
// every float, so a kernel that reads scratch it has not written shows in its results.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "samba/core/error.hpp"
#include "samba/core/tensor.hpp"

namespace samba {
namespace detail {

class ScratchArena {
 public:
  static ScratchArena& local() {
    thread_local ScratchArena arena;
    return arena;
  }

  // `bytes` bytes (64-byte aligned) that stay valid until the matching release.
  std::byte* take(std::size_t bytes) {
    bytes = (std::max<std::size_t>(bytes, 1) + alignment - 1) / alignment * alignment;
    // Whatever throws (bad_alloc) leaves the live buffers and the marks as they were.
    if (marks_.size() == marks_.capacity())
      marks_.reserve(std::max<std::size_t>(16, 2 * marks_.capacity()));
    const Mark before{current_, top_};
    if (blocks_.empty() || top_ + bytes > blocks_[current_].size) next_block(bytes);
    marks_.push_back(before);
    std::byte* p = blocks_[current_].data.get() + top_;
    top_ += bytes;
#if defined(SAMBA_SCRATCH_POISON)
    std::memset(p, 0xFF, bytes);
#endif
    return p;
  }

  // Hands back the newest buffer still taken.
  void release() noexcept {
    if (marks_.empty()) return;
    current_ = marks_.back().block;
    top_ = marks_.back().top;
    marks_.pop_back();
    if (marks_.empty() && blocks_.size() > 1) {  // keep the newest block: it is the largest
      Block last = std::move(blocks_.back());
      blocks_.clear();
      blocks_.push_back(std::move(last));
      current_ = 0;
      top_ = 0;
    }
  }

  // Frees every block; only while nothing is taken (else a no-op).
  void clear() noexcept {
    if (!marks_.empty()) return;
    blocks_.clear();
    current_ = 0;
    top_ = 0;
  }

  std::size_t capacity() const noexcept {
    std::size_t total = 0;
    for (const Block& b : blocks_) total += b.size;
    return total;
  }

 private:
  static constexpr std::size_t alignment = buffer_alignment;
  struct Block {
    std::unique_ptr<std::byte[], aligned_free> data;
    std::size_t size = 0;
  };
  struct Mark {
    std::size_t block, top;
  };

  // Moves to a block after the current one with room for `bytes`: the next one if it is empty
  // and large enough, else a new one (blocks after the current one hold nothing live).
  void next_block(std::size_t bytes) {
    if (!blocks_.empty()) {
      const std::size_t next = current_ + 1;
      if (next < blocks_.size() && blocks_[next].size >= bytes) {
        current_ = next;
        top_ = 0;
        return;
      }
      blocks_.resize(next);
    }
    const std::size_t size = std::max(2 * capacity(), capacity() + bytes);
    Block b;
    b.data.reset(static_cast<std::byte*>(::operator new[](size, std::align_val_t{alignment})));
    b.size = size;
    blocks_.push_back(std::move(b));
    current_ = blocks_.size() - 1;
    top_ = 0;
  }

  std::vector<Block> blocks_;
  std::vector<Mark> marks_;  // the arena before each live take
  std::size_t current_ = 0, top_ = 0;
};

}  // namespace detail

// Frees this thread's scratch arena (for a thread that is done with large calls for a while).
inline void release_thread_scratch() noexcept {
  detail::ScratchArena::local().clear();
}

// n uninitialised elements of this thread's scratch arena (see the top of the file).
template <class T>
class ScratchBuffer {
  static_assert(std::is_trivially_copyable_v<T> && alignof(T) <= 64,
                "ScratchBuffer holds trivially copyable elements only");

 public:
  explicit ScratchBuffer(index_t n) : size_(n) {
    detail::check(n >= 0, "ScratchBuffer: negative size ", n);
    data_ = reinterpret_cast<T*>(
        detail::ScratchArena::local().take(static_cast<std::size_t>(n) * sizeof(T)));
  }
  ~ScratchBuffer() { detail::ScratchArena::local().release(); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  index_t size() const { return size_; }
  T& operator[](index_t i) { return data_[i]; }
  const T& operator[](index_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }

  template <std::size_t Rank>
  TensorView<T, Rank> view(std::array<index_t, Rank> shape) {
    return detail::checked_view("ScratchBuffer", data_, size_, shape);
  }
  template <std::size_t Rank>
  TensorView<const T, Rank> view(std::array<index_t, Rank> shape) const {
    return detail::checked_view("ScratchBuffer", static_cast<const T*>(data_), size_, shape);
  }

 private:
  T* data_ = nullptr;
  index_t size_ = 0;
};

}  // namespace samba

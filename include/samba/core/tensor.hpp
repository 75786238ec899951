// Tensors: shapes, non-owning strided views, owning buffers and shared immutable tensors.
//
//   TensorView<T, Rank>  non-owning: pointer + shape + strides (in elements). What kernels take.
//   HostBuffer<T>        owning, mutable, 64-byte aligned host memory (states, scratch, outputs).
//   Tensor<T>            owning, immutable and cheap to copy: a shape plus shared read-only
//   storage.
//                        Layer weights are Tensors, so one set of weights serves many threads.
//
// Nothing here depends on Eigen; the CPU backend turns views into Eigen::Map (cpu/eigen.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <ostream>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "samba/core/dtype.hpp"
#include "samba/core/error.hpp"

namespace samba {

using index_t = std::ptrdiff_t;

// --- Shape -------------------------------------------------------------------------------------

inline constexpr std::size_t max_rank = 4;

// A dynamic-rank shape (rank ≤ 4) for named tensors such as weights read from a checkpoint.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<index_t> dims)
      : Shape(std::span<const index_t>(dims.begin(), dims.size())) {}
  explicit Shape(std::span<const index_t> dims) {
    detail::check(dims.size() <= max_rank, "Shape: rank ", dims.size(), " exceeds the maximum of ",
                  max_rank);
    rank_ = dims.size();
    std::copy(dims.begin(), dims.end(), dims_.begin());
  }

  std::size_t rank() const { return rank_; }
  index_t operator[](std::size_t i) const { return dims_[i]; }
  std::span<const index_t> dims() const { return {dims_.data(), rank_}; }
  index_t numel() const {
    index_t n = 1;
    for (std::size_t i = 0; i < rank_; ++i) n *= dims_[i];
    return n;
  }
  friend bool operator==(const Shape& a, const Shape& b) {
    return a.rank_ == b.rank_ &&
           std::equal(a.dims_.begin(), a.dims_.begin() + a.rank_, b.dims_.begin());
  }
  friend std::ostream& operator<<(std::ostream& os, const Shape& s) {
    os << '[';
    for (std::size_t i = 0; i < s.rank_; ++i) os << (i ? ", " : "") << s.dims_[i];
    return os << ']';
  }

 private:
  std::array<index_t, max_rank> dims_{};
  std::size_t rank_ = 0;
};

// --- TensorView --------------------------------------------------------------------------------

// A non-owning strided view. Strides are in elements; the last dimension need not be contiguous.
template <class T, std::size_t Rank>
class TensorView {
  static_assert(Rank >= 1 && Rank <= max_rank, "TensorView: Rank must be between 1 and 4");

 public:
  using value_type = std::remove_const_t<T>;
  using element_type = T;

  TensorView() = default;
  TensorView(T* data, std::array<index_t, Rank> shape, std::array<index_t, Rank> strides)
      : data_(data), shape_(shape), strides_(strides) {
    for (std::size_t i = 0; i < Rank; ++i)
      detail::check(shape_[i] >= 0, "TensorView: negative extent ", shape_[i], " in dimension ", i);
  }
  // Contiguous, row-major.
  TensorView(T* data, std::array<index_t, Rank> shape)
      : TensorView(data, shape, row_major(shape)) {}

  // A view of const elements from a view of mutable ones.
  template <class U>
  requires(std::is_const_v<T>&& std::is_same_v<std::remove_const_t<T>, U>)
      TensorView(const TensorView<U, Rank>& other)  // NOLINT(google-explicit-constructor)
      : data_(other.data()), shape_(other.shape()), strides_(other.strides()) {}

  static std::array<index_t, Rank> row_major(const std::array<index_t, Rank>& shape) {
    std::array<index_t, Rank> s{};
    index_t stride = 1;
    for (std::size_t i = Rank; i-- > 0;) {
      s[i] = stride;
      stride *= shape[i];
    }
    return s;
  }

  T* data() const { return data_; }
  const std::array<index_t, Rank>& shape() const { return shape_; }
  const std::array<index_t, Rank>& strides() const { return strides_; }
  index_t extent(std::size_t i) const { return shape_[i]; }
  index_t stride(std::size_t i) const { return strides_[i]; }
  index_t rows() const requires(Rank == 2) { return shape_[0]; }
  index_t cols() const requires(Rank == 2) { return shape_[1]; }
  index_t numel() const {
    index_t n = 1;
    for (auto d : shape_) n *= d;
    return n;
  }
  bool empty() const { return numel() == 0; }
  bool is_contiguous() const { return strides_ == row_major(shape_); }

  template <class... I>
  requires(sizeof...(I) == Rank) T& operator()(I... idx) const {
    const std::array<index_t, Rank> i{static_cast<index_t>(idx)...};
    index_t off = 0;
    for (std::size_t d = 0; d < Rank; ++d) off += i[d] * strides_[d];
    return data_[off];
  }

  // Row r of a matrix, as a pointer (the row's elements are contiguous when stride(1) == 1).
  T* row(index_t r) const requires(Rank == 2) { return data_ + r * strides_[0]; }

  // Rows [begin, begin + count) of the leading dimension.
  TensorView slice(index_t begin, index_t count) const {
    detail::check(begin >= 0 && count >= 0 && begin + count <= shape_[0], "TensorView: slice [",
                  begin, ", ", begin + count, ") out of range for leading extent ", shape_[0]);
    TensorView v = *this;
    v.data_ = data_ + begin * strides_[0];
    v.shape_[0] = count;
    return v;
  }

  Shape dyn_shape() const { return Shape(std::span<const index_t>(shape_.data(), Rank)); }

 private:
  T* data_ = nullptr;
  std::array<index_t, Rank> shape_{};
  std::array<index_t, Rank> strides_{};
};

// The activation layout of every layer: [tokens, features], row-major, rows may be padded.
template <class T>
using MatrixView = TensorView<T, 2>;
template <class T>
using ConstMatrixView = TensorView<const T, 2>;

namespace detail {
// A row-major view of the first elements of a buffer of `size` elements (HostBuffer, and the CUDA
// backend's DeviceBuffer), checked to fit.
template <class T, std::size_t Rank>
TensorView<T, Rank> checked_view(std::string_view buffer, T* data, index_t size,
                                 const std::array<index_t, Rank>& shape) {
  index_t n = 1;
  for (auto d : shape) n *= d;
  check(n <= size, buffer, ": view of ", n, " elements over a buffer of ", size);
  return {data, shape};
}
}  // namespace detail

// --- HostBuffer --------------------------------------------------------------------------------

namespace detail {
inline constexpr std::size_t buffer_alignment = 64;
struct aligned_free {
  void operator()(void* p) const { ::operator delete[](p, std::align_val_t{buffer_alignment}); }
};
}  // namespace detail

// Owning, mutable, zero-initialised, 64-byte aligned host memory.
template <class T>
class HostBuffer {
  static_assert(std::is_trivially_copyable_v<T>,
                "HostBuffer holds trivially copyable elements only");

 public:
  HostBuffer() = default;
  explicit HostBuffer(index_t n) : size_(n) {
    detail::check(n >= 0, "HostBuffer: negative size ", n);
    if (n > 0) {
      void* p = ::operator new[](static_cast<std::size_t>(n) * sizeof(T),
                                 std::align_val_t{detail::buffer_alignment});
      std::memset(p, 0, static_cast<std::size_t>(n) * sizeof(T));
      data_.reset(static_cast<T*>(p));
    }
  }
  HostBuffer(const HostBuffer& o) : HostBuffer(o.size_) {
    if (size_) std::memcpy(data_.get(), o.data_.get(), static_cast<std::size_t>(size_) * sizeof(T));
  }
  HostBuffer& operator=(const HostBuffer& o) {
    if (this != &o) *this = HostBuffer(o);
    return *this;
  }
  HostBuffer(HostBuffer&& o) noexcept
      : data_(std::move(o.data_)), size_(std::exchange(o.size_, 0)) {}
  HostBuffer& operator=(HostBuffer&& o) noexcept {
    data_ = std::move(o.data_);
    size_ = std::exchange(o.size_, 0);
    return *this;
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  index_t size() const { return size_; }
  std::size_t bytes() const { return static_cast<std::size_t>(size_) * sizeof(T); }
  T& operator[](index_t i) { return data_.get()[i]; }
  const T& operator[](index_t i) const { return data_.get()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  std::span<T> span() { return {data(), static_cast<std::size_t>(size_)}; }
  std::span<const T> span() const { return {data(), static_cast<std::size_t>(size_)}; }

  template <std::size_t Rank>
  TensorView<T, Rank> view(std::array<index_t, Rank> shape) {
    return detail::checked_view("HostBuffer", data(), size_, shape);
  }
  template <std::size_t Rank>
  TensorView<const T, Rank> view(std::array<index_t, Rank> shape) const {
    return detail::checked_view("HostBuffer", data(), size_, shape);
  }

 private:
  std::unique_ptr<T[], detail::aligned_free> data_;
  index_t size_ = 0;
};

// --- Tensor ------------------------------------------------------------------------------------

// An immutable tensor: shape + shared read-only storage. Copies share the storage, so weights can
// be handed to many layers, sessions and threads. The storage may be owned (built from a
// HostBuffer) or borrowed from an owner that keeps it alive (an mmap'ed checkpoint, later).
template <StorageType T>
class Tensor {
 public:
  using value_type = T;

  Tensor() = default;
  Tensor(Shape shape, HostBuffer<T>&& buffer) : shape_(shape) {
    detail::check(buffer.size() == shape.numel(), "Tensor: shape ", shape, " needs ", shape.numel(),
                  " elements, buffer holds ", buffer.size());
    auto owned = std::make_shared<HostBuffer<T>>(std::move(buffer));
    data_ = std::shared_ptr<const T>(owned, owned->data());
  }
  // Borrows memory kept alive by `owner` (e.g. an mmap'ed file).
  Tensor(Shape shape, std::shared_ptr<const void> owner, const T* data)
      : shape_(shape), data_(std::move(owner), data) {}

  // Converts (or copies) elements of any storage type into a new tensor of type T.
  template <StorageType U>
  static Tensor from(Shape shape, std::span<const U> values) {
    detail::check(static_cast<index_t>(values.size()) == shape.numel(), "Tensor: shape ", shape,
                  " needs ", shape.numel(), " values, got ", values.size());
    HostBuffer<T> buf(shape.numel());
    for (std::size_t i = 0; i < values.size(); ++i)
      buf[static_cast<index_t>(i)] = from_float<T>(to_float(values[i]));
    return Tensor(shape, std::move(buf));
  }

  const Shape& shape() const { return shape_; }
  const T* data() const { return data_.get(); }
  // An empty tensor (an optional weight that is absent, e.g. a bias) has no elements, whatever its
  // default shape's product says: parameter counts and byte counts add it as 0.
  index_t numel() const { return data_ ? shape_.numel() : 0; }
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * sizeof(T); }
  static constexpr samba::dtype dtype() { return dtype_of_v<T>; }
  bool empty() const { return data_ == nullptr; }
  std::span<const T> span() const { return {data(), static_cast<std::size_t>(numel())}; }

  template <std::size_t Rank>
  TensorView<const T, Rank> view() const {
    detail::check(shape_.rank() == Rank, "Tensor: a rank-", Rank, " view of a tensor of shape ",
                  shape_);
    std::array<index_t, Rank> s{};
    for (std::size_t i = 0; i < Rank; ++i) s[i] = shape_[i];
    return {data(), s};
  }

  // The same storage under another shape with the same number of elements.
  Tensor reshaped(const Shape& shape) const {
    detail::check(shape.numel() == numel(), "Tensor: cannot reshape ", shape_, " to ", shape);
    Tensor t = *this;
    t.shape_ = shape;
    return t;
  }

  // Converts to another storage type (f32 → bf16 rounds to nearest even).
  template <StorageType U>
  Tensor<U> to() const {
    return Tensor<U>::from(shape_, span());
  }

 private:
  Shape shape_;
  std::shared_ptr<const T> data_;
};

// Checks that a named tensor has the expected shape: "MambaLayer: tensor 'in_proj' has shape [6,
// 4], expected [16, 4]".
template <StorageType T>
void check_shape(const Tensor<T>& t, std::string_view layer, std::string_view tensor_name,
                 const Shape& expected) {
  detail::check(!t.empty(), layer, ": tensor '", tensor_name, "' is missing (expected shape ",
                expected, ")");
  detail::check(t.shape() == expected, layer, ": tensor '", tensor_name, "' has shape ", t.shape(),
                ", expected ", expected);
}

}  // namespace samba

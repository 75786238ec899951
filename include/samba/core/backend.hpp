// Backend policies. A backend says where tensors live and which kernels run a layer; the layer
// templates (layers/) hold the semantics — config, weights, state, shape checks — and hand the
// arithmetic to a per-backend kernel struct (cpu/ specialises them for samba::cpu).
//
// Two backends ship: samba::cpu (here; kernels in cpu/) and samba::cuda (cuda/backend.cuh, nvcc
// only; kernels in cuda/). A backend that keeps its own copy of the weights (the CUDA backend keeps
// them in device memory) says so with `keeps_resident_weights`; each layer then builds its kernel's
// Resident from itself once, at construction, and the kernel reads it back with layer.resident().
#pragma once

#include <string_view>
#include <type_traits>

#include "samba/core/scratch.hpp"
#include "samba/core/tensor.hpp"

namespace samba {

// The CPU backend: host memory, Eigen for dense linear algebra, plain C++ for the rest.
struct cpu {
  static constexpr std::string_view name = "cpu";
  template <class T>
  using buffer = HostBuffer<T>;
  // Scratch for a layer's pipeline: n elements, written before they are read, from this thread's
  // arena (core/scratch.hpp): no allocation once the thread has run a call of that size.
  template <class T>
  static ScratchBuffer<T> scratch(index_t n) {
    return ScratchBuffer<T>(n);
  }
};

namespace detail {
// For static_asserts that must fire only when a template is instantiated.
template <class...>
inline constexpr bool dependent_false = false;

// What a layer keeps for its backend besides the weights: Kernel::Resident for a backend with
// keeps_resident_weights, nothing otherwise (the CPU kernels read the weights in place).
struct NoResident {};
template <class B, class Kernel>
struct resident_of {
  using type = NoResident;
};
template <class B, class Kernel>
requires(B::keeps_resident_weights) struct resident_of<B, Kernel> {
  using type = typename Kernel::Resident;
};
template <class B, class Kernel>
using resident_t = typename resident_of<B, Kernel>::type;

// Scratch for a layer's pipeline on backend B: n elements that are written before they are read,
// from B::scratch<T>(n) where the backend has one (samba::cuda leaves them uninitialised), else a
// plain B::buffer<T>(n), so a backend policy needs no more than its buffer type.
template <class T, class B>
auto scratch(index_t n) {
  if constexpr (requires { B::template scratch<T>(n); }) {
    return B::template scratch<T>(n);
  } else {
    return typename B::template buffer<T>(n);
  }
}

// Builds a layer's Resident once its weights are checked.
template <class Resident, class Layer>
Resident make_resident(const Layer& layer) {
  if constexpr (std::is_same_v<Resident, NoResident>)
    return {};
  else
    return Resident(layer);
}
}  // namespace detail

}  // namespace samba

// Backend policies. A backend says where tensors live and which kernels run a layer; the layer
// templates (layers/) hold the semantics — config, weights, state, shape checks — and hand the
// arithmetic to a per-backend kernel struct (cpu/ specialises them for samba::cpu).
//
// samba::cpu is the only backend today. A CUDA backend (samba::cuda) arrives with its own headers
// and specialisations; nothing in the layers changes for it.
#pragma once

#include <string_view>

#include "samba/core/tensor.hpp"

namespace samba {

// The CPU backend: host memory, Eigen for dense linear algebra, plain C++ for the rest.
struct cpu {
  static constexpr std::string_view name = "cpu";
  template <class T>
  using buffer = HostBuffer<T>;
};

namespace detail {
// For static_asserts that must fire only when a template is instantiated.
template <class...>
inline constexpr bool dependent_false = false;
}  // namespace detail

}  // namespace samba

// samba::cuda — the CUDA backend policy: layer states and activations live in device memory
// (DeviceBuffer), each layer keeps a device copy of its weights (its Resident, built once at
// construction), and the kernels in cuda/ run on the calling thread's stream.
//
//   MambaLayer<cuda, bf16> mamba(config, weights);   // uploads the weights
//   auto state = mamba.make_state();                 // zeroed device state
//   mamba.forward(state, x, y);                      // x, y: views of device memory
//
// The layer templates, their configs, shape checks and states are the ones the CPU uses; only the
// kernels differ. Include samba/cuda.cuh (nvcc only) for the whole backend.
#pragma once

#include <string_view>

#include "samba/core/backend.hpp"
#include "samba/cuda/buffer.cuh"

namespace samba {

struct cuda {
  static constexpr std::string_view name = "cuda";
  static constexpr bool keeps_resident_weights = true;
  template <class T>
  using buffer = DeviceBuffer<T>;
  // Scratch for a layer's pipeline: n elements, written before they are read (not cleared).
  template <class T>
  static buffer<T> scratch(index_t n) {
    return buffer<T>(n, buffer<T>::uninitialized);
  }
};

}  // namespace samba

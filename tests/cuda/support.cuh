// Helpers of the CUDA tests: data to and from the device, runs of a layer in chunks, and the
// normalised error against the plain-loop references (which take the same layer objects: the
// references read the layer's host weights, whatever its backend).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>
// The backend without the model headers (tests/cuda/model.cu adds samba/cuda.cuh): less to compile.
#include <samba/cuda/attention.cuh>
#include <samba/cuda/backend.cuh>
#include <samba/cuda/differential_attention.cuh>
#include <samba/cuda/feed_forward.cuh>
#include <samba/cuda/gated_memory.cuh>
#include <samba/cuda/graph.cuh>
#include <samba/cuda/layer_norm.cuh>
#include <samba/cuda/linear_attention.cuh>
#include <samba/cuda/mamba.cuh>
#include <samba/cuda/mamba2.cuh>
#include <samba/cuda/pre_norm.cuh>
#include <samba/cuda/rglru.cuh>
#include <samba/cuda/rmsnorm.cuh>
#include <samba/cuda/swiglu.cuh>
#include <samba/reference/stack.hpp>
#include <samba/stack/presets.hpp>

#include "measures.hpp"

namespace samba::test {

// Relative L2 errors (measures.hpp) of results brought back to the host.
inline double rel_error(const HostBuffer<float>& got, const reference::Matrix& want) {
  return rel_error_of(got.span(), want.data);
}
inline double rel_error(const HostBuffer<float>& got, const HostBuffer<float>& want) {
  return rel_error_of(got.span(), want.span());
}
inline double rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  return rel_error_of(got, want);
}
inline bool bitwise_equal(const HostBuffer<float>& a, const HostBuffer<float>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](float x, float y) {
           return std::bit_cast<std::uint32_t>(x) == std::bit_cast<std::uint32_t>(y);
         });
}

// Tolerances of the relative error against the f64 reference: f32 weights run f32 arithmetic;
// bf16/f16 weights are exact in the reference too, but prefill GEMMs round the activations to the
// weight type for the tensor cores (8 or 11 significant bits).
template <StorageType W>
inline constexpr double tolerance_v = std::is_same_v<W, float>  ? 2e-5
                                      : std::is_same_v<W, bf16> ? 2e-2
                                                                : 4e-3;

// Runs `layer` on the device over x [T, d] (host memory, copied to the device) in chunks of the
// given sizes (cycled), from a fresh state (measures.hpp), and returns y on the host.
template <class L>
HostBuffer<float> run_chunked(const L& layer, const HostBuffer<float>& x, index_t d,
                              const std::vector<index_t>& chunks) {
  const DeviceBuffer<float> dx = to_device(x);
  return to_host(run_chunked(layer, ConstMatrixView<float>(dx.view<2>({x.size() / d, d})), chunks));
}

template <class L>
HostBuffer<float> run_whole(const L& layer, const HostBuffer<float>& x, index_t d) {
  return run_chunked(layer, x, d, {x.size() / d});
}

inline reference::Matrix as_matrix(const HostBuffer<float>& x, index_t d) {
  return reference::Matrix::from(x.view<2>({x.size() / d, d}));
}

}  // namespace samba::test

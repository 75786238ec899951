// Initialisers shared by the layers' random weights (demos, tests, benchmarks).
#pragma once

#include <cmath>

#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"

namespace samba::detail {

// A [rows, cols] matrix uniform in ±1/sqrt(cols) (PyTorch's nn.Linear default scale), stored as W.
template <StorageType W>
Tensor<W> random_matrix(index_t rows, index_t cols, Random& rng) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(cols));
  HostBuffer<W> buf(rows * cols);
  for (auto& v : buf) v = from_float<W>(rng.uniform(-bound, bound));
  return Tensor<W>(Shape{rows, cols}, std::move(buf));
}

// An f32 tensor uniform in [lo, hi).
inline Tensor<float> random_uniform(Shape shape, float lo, float hi, Random& rng) {
  HostBuffer<float> buf(shape.numel());
  for (auto& v : buf) v = rng.uniform(lo, hi);
  return Tensor<float>(shape, std::move(buf));
}

}  // namespace samba::detail

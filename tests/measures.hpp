// Error measures and random inputs shared by the CPU tests (support.hpp), the CUDA tests
// (cuda/support.cuh) and the op harness (ops/harness.hpp): plain C++, no Eigen, so nvcc-compiled
// tests use them too.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include <catch2/catch.hpp>
#include <samba/core/random.hpp>
#include <samba/core/tensor.hpp>

namespace samba::test {

// A [rows, cols] activation matrix of N(0, scale²) values.
inline HostBuffer<float> random_activations(index_t rows, index_t cols, std::uint64_t seed,
                                            float scale = 1.0f) {
  HostBuffer<float> b(rows * cols);
  Random rng(seed);
  for (auto& v : b) v = scale * rng.normal();
  return b;
}

// Runs `layer` over x [T, d] (in the memory of the layer's backend) split into chunks of the given
// sizes (cycled), from a fresh state; y comes back in a buffer of the layer's backend.
template <class L>
auto run_chunked(const L& layer, ConstMatrixView<float> x, const std::vector<index_t>& chunks) {
  const index_t T = x.rows(), d = x.cols();
  typename L::backend_type::template buffer<float> y(T * d);
  auto state = layer.make_state();
  index_t t = 0;
  for (std::size_t i = 0; t < T; ++i) {
    const index_t n = std::min(chunks[i % chunks.size()], T - t);
    layer.forward(state, x.slice(t, n), y.template view<2>({T, d}).slice(t, n));
    t += n;
  }
  return y;
}

// Relative L2 error ‖got − want‖ / ‖want‖ (the square root of ggml's NMSE) of two equally long
// sequences of numbers (floats, or the references' doubles).
template <class Got, class Want>
double rel_error_of(const Got& got, const Want& want) {
  REQUIRE(std::size(got) == std::size(want));
  double num = 0.0, den = 0.0;
  auto w = std::begin(want);
  for (auto g = std::begin(got); g != std::end(got); ++g, ++w) {
    const double d = static_cast<double>(*g) - static_cast<double>(*w);
    num += d * d;
    den += static_cast<double>(*w) * static_cast<double>(*w);
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

}  // namespace samba::test

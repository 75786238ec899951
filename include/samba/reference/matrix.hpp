// The plain-loop reference implementations (reference/*.hpp) define the math of every layer. They
// run in double precision on whole sequences from position 0, with no tiling, no caches and no
// cleverness, so that each can be checked against the paper's equations by eye. The fast paths are
// tested against them.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include "samba/core/dtype.hpp"
#include "samba/core/math.hpp"
#include "samba/core/tensor.hpp"

namespace samba::reference {

// A dense row-major [rows, cols] matrix of doubles.
struct Matrix {
  index_t rows = 0, cols = 0;
  std::vector<double> data;

  Matrix() = default;
  Matrix(index_t r, index_t c) : rows(r), cols(c), data(static_cast<std::size_t>(r * c), 0.0) {}
  double& operator()(index_t r, index_t c) { return data[static_cast<std::size_t>(r * cols + c)]; }
  double operator()(index_t r, index_t c) const {
    return data[static_cast<std::size_t>(r * cols + c)];
  }

  static Matrix from(ConstMatrixView<float> v) {
    Matrix m(v.rows(), v.cols());
    for (index_t r = 0; r < v.rows(); ++r)
      for (index_t c = 0; c < v.cols(); ++c) m(r, c) = v(r, c);
    return m;
  }
};

// Element (r, c) of a stored weight tensor, widened to double.
template <StorageType W>
double at(const Tensor<W>& t, index_t r, index_t c) {
  return static_cast<double>(to_float(t.data()[r * t.shape()[1] + c]));
}
template <StorageType W>
double at(const Tensor<W>& t, index_t i) {
  return static_cast<double>(to_float(t.data()[i]));
}

// y = x · Wᵀ for W [out, in].
template <StorageType W>
Matrix linear(const Matrix& x, const Tensor<W>& w) {
  const index_t out = w.shape()[0], in = w.shape()[1];
  Matrix y(x.rows, out);
  for (index_t t = 0; t < x.rows; ++t)
    for (index_t o = 0; o < out; ++o) {
      double acc = 0.0;
      for (index_t i = 0; i < in; ++i) acc += x(t, i) * at(w, o, i);
      y(t, o) = acc;
    }
  return y;
}

// y = x · Wᵀ + b, or x · Wᵀ where b is empty.
template <StorageType W>
Matrix linear(const Matrix& x, const Tensor<W>& w, const Tensor<float>& b) {
  Matrix y = linear(x, w);
  if (!b.empty())
    for (index_t t = 0; t < y.rows; ++t)
      for (index_t o = 0; o < y.cols; ++o) y(t, o) += at(b, o);
  return y;
}

// In double: core/math.hpp's, as every backend computes them.
using math::gelu_tanh;
using math::logsigmoid;
using math::sigmoid;
using math::silu;
using math::softplus;

// The causal depthwise conv over columns [col0, col0 + channels) of x (zeros before the
// sequence): out[t, c] = act(bias[c] + Σ_k weight[c, k] · x[t − (K−1) + k, col0 + c]), weight
// [channels, K], act = silu (Mamba-1, Mamba-2, the short convs) or none (Griffin).
inline Matrix causal_conv(const Matrix& x, index_t col0, const Tensor<float>& weight,
                          const Tensor<float>& bias, bool apply_silu) {
  const index_t T = x.rows, C = weight.shape()[0], K = weight.shape()[1];
  Matrix out(T, C);
  for (index_t t = 0; t < T; ++t)
    for (index_t ch = 0; ch < C; ++ch) {
      double acc = at(bias, ch);
      for (index_t k = 0; k < K; ++k) {
        const index_t s = t - (K - 1) + k;
        if (s >= 0) acc += at(weight, ch, k) * x(s, col0 + ch);
      }
      out(t, ch) = apply_silu ? silu(acc) : acc;
    }
  return out;
}
inline Matrix causal_conv_silu(const Matrix& x, index_t col0, const Tensor<float>& weight,
                               const Tensor<float>& bias) {
  return causal_conv(x, col0, weight, bias, /*apply_silu=*/true);
}

}  // namespace samba::reference

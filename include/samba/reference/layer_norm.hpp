// Reference LayerNorm: y = (x − mean) / sqrt(var + eps) ⊙ weight + bias, in double.
#pragma once

#include <cmath>

#include "samba/layers/layer_norm.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

inline Matrix layer_norm(const LayerNormConfig& c, const LayerNormWeights& w, const Matrix& x) {
  Matrix y(x.rows, x.cols);
  const auto d = static_cast<double>(c.d_model);
  for (index_t t = 0; t < x.rows; ++t) {
    double sum = 0.0;
    for (index_t i = 0; i < x.cols; ++i) sum += x(t, i);
    const double mean = sum / d;
    double ss = 0.0;
    for (index_t i = 0; i < x.cols; ++i) ss += (x(t, i) - mean) * (x(t, i) - mean);
    const double scale = 1.0 / std::sqrt(ss / d + static_cast<double>(c.eps));
    for (index_t i = 0; i < x.cols; ++i)
      y(t, i) = (x(t, i) - mean) * scale * at(w.weight, i) + at(w.bias, i);
  }
  return y;
}

template <class B>
Matrix forward(const LayerNorm<B>& layer, const Matrix& x) {
  return layer_norm(layer.config(), layer.weights(), x);
}

}  // namespace samba::reference

// Reference RMSNorm: y = x / sqrt(mean(x²) + eps) ⊙ weight.
#pragma once

#include <cmath>

#include "samba/layers/rmsnorm.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

inline Matrix rmsnorm(const RMSNormConfig& c, const RMSNormWeights& w, const Matrix& x) {
  Matrix y(x.rows, x.cols);
  for (index_t t = 0; t < x.rows; ++t) {
    double ss = 0.0;
    for (index_t i = 0; i < x.cols; ++i) ss += x(t, i) * x(t, i);
    const double scale =
        1.0 / std::sqrt(ss / static_cast<double>(c.d_model) + static_cast<double>(c.eps));
    for (index_t i = 0; i < x.cols; ++i) y(t, i) = x(t, i) * scale * at(w.weight, i);
  }
  return y;
}

template <class B>
Matrix forward(const RMSNorm<B>& layer, const Matrix& x) {
  return rmsnorm(layer.config(), layer.weights(), x);
}

}  // namespace samba::reference

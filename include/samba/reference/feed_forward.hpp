// Reference FeedForward (layers/feed_forward.hpp) in double.
#pragma once

#include <algorithm>

#include "samba/layers/feed_forward.hpp"
#include "samba/reference/matrix.hpp"

namespace samba::reference {

template <StorageType W>
Matrix feed_forward(const FeedForwardConfig&, const FeedForwardWeights<W>& w, const Matrix& x) {
  Matrix h = linear(x, w.up);
  for (double& v : h.data) v = std::max(v, 0.0) * std::max(v, 0.0);  // relu²
  return linear(h, w.down);
}

template <class B, StorageType W>
Matrix forward(const FeedForward<B, W>& layer, const Matrix& x) {
  return feed_forward(layer.config(), layer.weights(), x);
}

}  // namespace samba::reference

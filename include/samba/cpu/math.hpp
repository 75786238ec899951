// Scalar activation functions shared by the CPU kernels (f32).
#pragma once

#include <cmath>

namespace samba::cpu_detail {

inline float sigmoid(float a) {
  return 1.0f / (1.0f + std::exp(-a));
}
inline float silu(float a) {
  return a * sigmoid(a);
}
// PyTorch's softplus (beta 1, threshold 20): log(1 + e^a), and a itself above the threshold.
inline float softplus(float a) {
  return a > 20.0f ? a : std::log1p(std::exp(a));
}

}  // namespace samba::cpu_detail

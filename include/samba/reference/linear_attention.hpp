// What the references of GatedLinearAttention and MultiScaleRetention share: the per-head RMSNorm
// with the swish output gate, in double.
#pragma once

#include <cmath>

#include "samba/reference/matrix.hpp"

namespace samba::reference {

// o [T, H·V] in place: each head's V channels divided by their RMS (eps), times weight [V], times
// swish(proj(t, gate_col + h·V + e)) when gated.
inline void head_norm_gate(Matrix& o, const Matrix& proj, index_t gate_col, bool gated,
                           const Tensor<float>& weight, index_t H, index_t V, double eps) {
  for (index_t t = 0; t < o.rows; ++t)
    for (index_t h = 0; h < H; ++h) {
      double ss = 0.0;
      for (index_t e = 0; e < V; ++e) ss += o(t, h * V + e) * o(t, h * V + e);
      const double r = 1.0 / std::sqrt(ss / static_cast<double>(V) + eps);
      for (index_t e = 0; e < V; ++e) {
        double& v = o(t, h * V + e);
        v *= r * at(weight, e);
        if (gated) v *= silu(proj(t, gate_col + h * V + e));
      }
    }
}

}  // namespace samba::reference

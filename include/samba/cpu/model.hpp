// Model's primitives on the CPU (the steps are Model::forward_batch's): the embedding lookup,
// row gathering and the head (with the model's embedding scale and logit soft cap).
#pragma once

#include <algorithm>
#include <span>
#include <vector>

#include "samba/core/backend.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/simd.hpp"
#include "samba/model/model.hpp"

namespace samba {

template <StorageType W>
struct ModelKernel<cpu, W> {
  template <class M>
  static void embed(const M& model, std::span<const std::int32_t> tokens, MatrixView<float> x) {
    const index_t d = model.d_model();
    const W* table = model.embedding().data();
    const float scale = model.options().embedding_scale;
    for (std::size_t t = 0; t < tokens.size(); ++t) {
      const W* row = table + static_cast<index_t>(tokens[t]) * d;
      float* out = x.row(static_cast<index_t>(t));
      std::transform(row, row + d, out, [](W v) { return to_float(v); });
      if (scale != 1.0f)
        for (index_t i = 0; i < d; ++i) out[i] *= scale;
    }
  }

  static void gather_rows(ConstMatrixView<float> src, std::span<const index_t> rows,
                          MatrixView<float> out) {
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::copy_n(src.row(rows[i]), src.cols(), out.row(static_cast<index_t>(i)));
  }

  template <class M>
  static void head(const M& model, ConstMatrixView<float> normed, MatrixView<float> logits) {
    cpu_detail::linear(normed, model.head(), logits);
    const float cap = model.options().logit_soft_cap;
    if (cap <= 0.0f) return;
    SAMBA_PARALLEL_FOR_IF(logits.rows() * logits.cols() >= cpu_detail::parallel_min_work / 8)
    for (index_t t = 0; t < logits.rows(); ++t)
      cpu_detail::soft_cap(logits.row(t), logits.cols(), cap);
  }
};

}  // namespace samba

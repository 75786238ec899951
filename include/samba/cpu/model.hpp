// Model on the CPU: embedding lookup, the stack, the final norm and the head over the rows that
// need logits.
#pragma once

#include <algorithm>
#include <span>
#include <vector>

#include "samba/core/backend.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/model/model.hpp"

namespace samba {

template <StorageType W>
struct ModelKernel<cpu, W> {
  template <class M>
  static void forward(const M& model, std::span<typename M::State* const> states,
                      std::span<const index_t> lengths, std::span<const std::int32_t> tokens,
                      MatrixView<float> logits, LogitsFor which) {
    const auto T = static_cast<index_t>(tokens.size());
    const index_t d = model.d_model();
    HostBuffer<float> x(T * d), h(T * d);
    const W* table = model.embedding().data();
    for (index_t t = 0; t < T; ++t) {
      const W* row = table + static_cast<index_t>(tokens[static_cast<std::size_t>(t)]) * d;
      std::transform(row, row + d, x.data() + t * d, [](W v) { return to_float(v); });
    }
    model.stack().forward_batch(states, lengths, x.view<2>({T, d}), h.view<2>({T, d}));

    // Rows that get logits: all of them, or each sequence's last.
    HostBuffer<float> picked;
    ConstMatrixView<float> sel = h.view<2>({T, d});
    if (which == LogitsFor::last_token) {
      const auto n = static_cast<index_t>(states.size());
      picked = HostBuffer<float>(n * d);
      index_t end = 0;
      for (index_t s = 0; s < n; ++s) {
        end += lengths[static_cast<std::size_t>(s)];
        std::copy_n(h.data() + (end - 1) * d, d, picked.data() + s * d);
      }
      sel = picked.view<2>({n, d});
    }
    HostBuffer<float> normed(sel.rows() * d);
    model.final_norm().forward(sel, normed.view<2>({sel.rows(), d}));
    cpu_detail::linear(ConstMatrixView<float>(normed.view<2>({sel.rows(), d})), model.head(),
                       logits);
  }
};

}  // namespace samba

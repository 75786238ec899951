// Reference of blocks and stacks, composed from the layer references: PreNorm is
// x + layer(norm(x)); a stack applies its blocks in order.
#pragma once

#include "samba/reference/attention.hpp"
#include "samba/reference/cross_decoder.hpp"
#include "samba/reference/differential_attention.hpp"
#include "samba/reference/feed_forward.hpp"
#include "samba/reference/gated_memory.hpp"
#include "samba/reference/gla.hpp"
#include "samba/reference/layer_norm.hpp"
#include "samba/reference/mamba.hpp"
#include "samba/reference/mamba2.hpp"
#include "samba/reference/retention.hpp"
#include "samba/reference/rglru.hpp"
#include "samba/reference/rmsnorm.hpp"
#include "samba/reference/swiglu.hpp"
#include "samba/stack/hybrid_stack.hpp"
#include "samba/stack/pre_norm.hpp"

namespace samba::reference {

template <class L, class N>
Matrix forward(const PreNorm<L, N>& block, const Matrix& x) {
  Matrix y = forward(block.layer(), forward(block.norm(), x));
  for (std::size_t i = 0; i < y.data.size(); ++i) y.data[i] += x.data[i];
  return y;
}

template <class... Blocks>
Matrix forward(const HybridStack<Blocks...>& stack, const Matrix& x) {
  Matrix h = x;
  stack.for_each_block([&](const auto& block, index_t) { h = forward(block, h); });
  return h;
}

}  // namespace samba::reference

// Reference CrossDecoder over a whole sequence from position 0, in double (the steps of
// stack/cross_decoder.hpp).
#pragma once

#include "samba/reference/differential_attention.hpp"
#include "samba/reference/gated_memory.hpp"
#include "samba/reference/layer_norm.hpp"
#include "samba/reference/mamba.hpp"
#include "samba/reference/swiglu.hpp"
#include "samba/stack/cross_decoder.hpp"

namespace samba::reference {

template <class B, StorageType W>
Matrix forward(const CrossDecoder<B, W>& decoder, const Matrix& x) {
  Matrix h = x;
  auto add = [&](const Matrix& y) {
    for (std::size_t i = 0; i < h.data.size(); ++i) h.data[i] += y.data[i];
  };
  auto mlp = [&](const auto& block) { add(forward(block.layer(), forward(block.norm(), h))); };
  const auto& m = decoder.memory();
  Matrix memory;
  add(mamba(m.mixer.config(), m.mixer.weights(), forward(m.norm, h), &memory));
  mlp(m.mlp);
  const auto& s = decoder.shared();
  const Matrix hs = forward(s.norm, h);
  add(forward(s.mixer, hs));
  mlp(s.mlp);
  // The shared layer's keys and values of every position.
  const auto& sc = s.mixer.config();
  const Matrix qkv = linear(hs, s.mixer.weights().wqkv, s.mixer.weights().bqkv);
  const Matrix k = columns(qkv, sc.q_dim(), sc.kv_dim());
  const Matrix v = columns(qkv, sc.q_dim() + sc.kv_dim(), sc.kv_dim());
  for (std::size_t i = 0; i < decoder.gmus().size(); ++i) {
    const auto& g = decoder.gmus()[i];
    add(forward(g.mixer, forward(g.norm, h), memory));
    mlp(g.mlp);
    const auto& c = decoder.cross()[i];
    add(forward(c.mixer, forward(c.norm, h), k, v));
    mlp(c.mlp);
  }
  return h;
}

}  // namespace samba::reference

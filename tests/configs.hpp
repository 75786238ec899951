// Layer configs from their sizes in one call, for the tests of every backend and the op harness
// (plain C++, no Eigen, so nvcc-compiled tests use them too).
#pragma once

#include <samba/layers/attention.hpp>
#include <samba/layers/differential_attention.hpp>
#include <samba/layers/gla.hpp>
#include <samba/layers/mamba.hpp>
#include <samba/layers/mamba2.hpp>
#include <samba/layers/retention.hpp>
#include <samba/layers/rglru.hpp>

namespace samba::test {

inline AttentionConfig attn_config(index_t d_model, index_t n_heads, index_t n_kv_heads,
                                   index_t head_dim, index_t window, index_t rotary_dims = -1,
                                   double base = 10000.0) {
  AttentionConfig c;
  c.d_model = d_model;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv_heads;
  c.head_dim = head_dim;
  c.window = window;
  c.rotary_dims = rotary_dims;
  c.rope_base = base;
  return c;
}

// Differential attention (Phi-4-mini-flash's); layer_index sets λ_init.
inline DiffAttentionConfig diff_config(index_t d_model, index_t n_heads, index_t n_kv_heads,
                                       index_t head_dim, index_t window, index_t layer_index = 3) {
  DiffAttentionConfig c;
  c.d_model = d_model;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv_heads;
  c.head_dim = head_dim;
  c.window = window;
  c.layer_index = layer_index;
  return c;
}

inline MambaConfig small_mamba(index_t d_model, index_t d_state, index_t d_conv, index_t expand = 2,
                               index_t dt_rank = 0) {
  MambaConfig c;
  c.d_model = d_model;
  c.d_state = d_state;
  c.d_conv = d_conv;
  c.expand = expand;
  c.dt_rank = dt_rank;
  return c;
}

inline Mamba2Config small_mamba2(index_t d_model, index_t d_inner, index_t head_dim,
                                 index_t d_state, index_t n_groups, index_t d_conv = 4,
                                 index_t norm_group = 0) {
  Mamba2Config c;
  c.d_model = d_model;
  c.d_inner = d_inner;
  c.head_dim = head_dim;
  c.d_state = d_state;
  c.n_groups = n_groups;
  c.d_conv = d_conv;
  c.norm_group = norm_group;
  return c;
}

inline GLAConfig small_gla(index_t d_model, index_t n_heads, index_t n_kv_heads, index_t key_dim,
                           index_t value_dim, index_t gate_rank = 4, index_t conv_size = 0,
                           bool output_gate = true) {
  GLAConfig c;
  c.d_model = d_model;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv_heads;
  c.key_dim = key_dim;
  c.value_dim = value_dim;
  c.gate_rank = gate_rank;
  c.conv_size = conv_size;
  c.output_gate = output_gate;
  return c;
}

inline RetentionConfig small_retention(index_t d_model, index_t n_heads, index_t n_kv_heads,
                                       index_t key_dim, index_t value_dim, index_t conv_size = 0,
                                       bool output_gate = true) {
  RetentionConfig c;
  c.d_model = d_model;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv_heads;
  c.key_dim = key_dim;
  c.value_dim = value_dim;
  c.conv_size = conv_size;
  c.output_gate = output_gate;
  c.rope_base = 500.0;  // turns the pairs noticeably over a test's positions
  return c;
}

inline RGLRUConfig small_rglru(index_t d_model, index_t lru_width, index_t n_heads,
                               index_t conv_width) {
  RGLRUConfig c;
  c.d_model = d_model;
  c.lru_width = lru_width;
  c.n_heads = n_heads;
  c.conv_width = conv_width;
  return c;
}

}  // namespace samba::test

// Samba checkpoints in the layout of the official training code (lit-gpt; model_type "samba") →
// presets::Samba (mb_per_layer 2: Mamba on even lit-gpt blocks, SWA on odd ones) or
// presets::MambaMLP (mb_per_layer 1: Mamba everywhere).
//
// lit-gpt block i is two of our blocks: 2i = the mixer (norm_1, attn.*) and 2i + 1 = the MLP
// (norm_2, mlp.swiglu.*, computing w3(silu(w1·x) ⊙ w2·x)). The attention's fused QKV matrix
// attn.attn.weight is grouped: for each of the n_query_groups groups, its n_head / n_query_groups
// query heads, then one key head, then one value head, head_size rows each.
#pragma once

#include <algorithm>
#include <cmath>

#include "samba/model/families/common.hpp"
#include "samba/model/model.hpp"
#include "samba/stack/presets.hpp"

namespace samba::detail {

// Splits lit-gpt's grouped QKV matrix into Wq, Wk, Wv.
template <StorageType W>
AttentionWeights<W> split_grouped_qkv(const Tensor<W>& qkv, Tensor<W> proj,
                                      const AttentionConfig& c) {
  const index_t hs = c.resolved_head_dim(), groups = c.resolved_n_kv_heads(), d = c.d_model;
  const index_t per_group = c.n_heads / groups;
  HostBuffer<W> q(c.q_dim() * d), k(c.kv_dim() * d), v(c.kv_dim() * d);
  const index_t head = hs * d;  // elements of one head's rows
  for (index_t g = 0; g < groups; ++g) {
    const W* src = qkv.data() + g * (per_group + 2) * head;
    std::copy_n(src, per_group * head, q.data() + g * per_group * head);
    std::copy_n(src + per_group * head, head, k.data() + g * head);
    std::copy_n(src + (per_group + 1) * head, head, v.data() + g * head);
  }
  return {Tensor<W>(Shape{c.q_dim(), d}, std::move(q)),
          Tensor<W>(Shape{c.kv_dim(), d}, std::move(k)),
          Tensor<W>(Shape{c.kv_dim(), d}, std::move(v)), std::move(proj)};
}

template <class Stack, StorageType W>
std::shared_ptr<const LanguageModel> load_samba_stack(const JsonConfig& cfg, SafeTensors& st,
                                                      const LoadOptions& options) {
  using B = typename Stack::backend_type;
  const index_t d = cfg.integer("n_embd");
  const index_t n_layer = cfg.integer("n_layer");
  const index_t vocab = cfg.integer("vocab_size");
  const index_t padded = cfg.integer("padded_vocab_size", vocab, 1);
  check(padded >= vocab, cfg.source(), ": 'padded_vocab_size' (", padded,
        ") is smaller than 'vocab_size' (", vocab, ")");
  AttentionConfig ac;
  ac.d_model = d;
  ac.n_heads = cfg.integer("n_head");
  ac.n_kv_heads = cfg.integer("n_query_groups", ac.n_heads, 1);
  ac.head_dim = cfg.integer("head_size", 0, 1);
  if (ac.head_dim == 0) ac.head_dim = d / ac.n_heads;
  ac.window = cfg.integer("local_window");
  ac.rope_base = cfg.number("rope_base", 10000.0);
  const double rotary = cfg.number("rotary_percentage", 1.0);
  check(rotary >= 0.0 && rotary <= 1.0, cfg.source(),
        ": 'rotary_percentage' must be in [0, 1], got ", rotary);
  ac.rotary_dims = static_cast<index_t>(rotary * static_cast<double>(ac.head_dim));
  ac.validate(AttentionKind::sliding_window);
  MambaConfig mc;
  mc.d_model = d;
  mc.d_state = cfg.integer("mamba_d_state", 16, 1);
  mc.d_conv = cfg.integer("mamba_d_conv", 4, 1);
  mc.expand = cfg.integer("mamba_expand", 2, 1);
  const SwiGLUConfig mlp{d, cfg.integer("intermediate_size")};
  const auto eps = static_cast<float>(cfg.number("norm_eps", 1e-5));
  const bool tied = cfg.boolean("tie_word_embeddings", false);

  auto stack = Stack::build(2 * n_layer, [&]<class Block>(std::type_identity<Block>, index_t b) {
    const std::string p = concat("transformer.h.", b / 2, ".");
    using L = typename Block::layer_type;
    if constexpr (std::is_same_v<L, SwiGLU<B, W>>) {
      SwiGLUWeights<W> w{st.load<W>(p + "mlp.swiglu.w1.weight", {mlp.d_ff, d}),
                         st.load<W>(p + "mlp.swiglu.w2.weight", {mlp.d_ff, d}),
                         st.load<W>(p + "mlp.swiglu.w3.weight", {d, mlp.d_ff})};
      return Block(load_norm<B>(st, p + "norm_2.weight", d, eps), L(mlp, std::move(w)));
    } else if constexpr (std::is_same_v<L, MambaLayer<B, W>>) {
      return Block(load_norm<B>(st, p + "norm_1.weight", d, eps),
                   load_mamba_mixer<B, W>(st, p + "attn.", mc, true));
    } else {
      const index_t rows = (ac.n_heads + 2 * ac.resolved_n_kv_heads()) * ac.head_dim;
      auto w = split_grouped_qkv(st.load<W>(p + "attn.attn.weight", {rows, d}),
                                 st.load<W>(p + "attn.proj.weight", {d, ac.q_dim()}), ac);
      return Block(load_norm<B>(st, p + "norm_1.weight", d, eps), L(ac, std::move(w)));
    }
  });
  Model<Stack, W> model(std::move(stack), vocab, st.load<W>("transformer.wte.weight", {padded, d}),
                        load_norm<B>(st, "transformer.ln_f.weight", d, eps),
                        tied ? Tensor<W>{} : st.load<W>("lm_head.weight", {padded, d}));
  ModelInfo info;
  info.family = "samba";
  info.pattern = std::is_same_v<Stack, presets::Samba<B, W>> ? "Samba [Mamba, MLP, SWA, MLP]"
                                                             : "MambaMLP [Mamba, MLP]";
  info.dims =
      concat("d_model ", d, ", ", n_layer, " lit-gpt layers (", 2 * n_layer, " blocks), ",
             ac.n_heads, " heads x ", ac.head_dim, " (", ac.resolved_n_kv_heads(), " kv), window ",
             ac.window, ", rotary dims ", ac.rotary_dims, ", MLP ", mlp.d_ff, ", Mamba d_inner ",
             mc.d_inner(), " d_state ", mc.d_state, ", vocab ", vocab, " (logits ", padded, ")");
  info.bounded_state = true;
  return finish(std::move(model), std::move(info), st, options);
}

template <class B, StorageType W>
std::shared_ptr<const LanguageModel> load_samba_family(const JsonConfig& cfg, SafeTensors& st,
                                                       const LoadOptions& options) {
  const index_t mb = cfg.integer("mb_per_layer", 2, 1);
  if (mb == 2) return load_samba_stack<presets::Samba<B, W>, W>(cfg, st, options);
  if (mb == 1) return load_samba_stack<presets::MambaMLP<B, W>, W>(cfg, st, options);
  fail(cfg.source(), ": 'mb_per_layer' = ", mb,
       ": no preset has this pattern (2 = Samba [Mamba, MLP, SWA, MLP], 1 = MambaMLP)");
}

}  // namespace samba::detail

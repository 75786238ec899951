// Samba checkpoints in the layout of the official training code (lit-gpt; model_type "samba") →
// presets::Samba's block types, in the order the config gives. Registered in model/registry.hpp as
// SambaFamily (the lit-gpt layout: its config has n_embd).
//
// lit-gpt layer i is two of our blocks: 2i = the mixer (norm_1, attn.*) and 2i + 1 = the MLP
// (norm_2, mlp.swiglu.*, computing w3(silu(w1·x) ⊙ w2·x)); with "mlp": false, only the mixer. The
// mixer is Mamba when i is not in attn_layer_pos (when given), else when mb_per_layer > 0 and
// i % mb_per_layer == 0 (lit_gpt/model.py, Block.__init__); otherwise sliding-window attention,
// whose fused QKV matrix attn.attn.weight is grouped: for each of the n_query_groups groups, its
// n_head / n_query_groups query heads, then one key head, then one value head, head_size rows each.
#pragma once

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

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

// The lit-gpt layers whose mixer is Mamba.
inline std::vector<bool> samba_mamba_layers(const JsonConfig& cfg, index_t n_layer) {
  for (const char* key : {"ret_per_layer", "gla_per_layer"})
    check(cfg.integer(key, 0, 0) == 0, cfg.source(), ": '", key,
          "' > 0 (RetNet / GLA mixers) is not supported yet");
  check(!cfg.boolean("mamba", false), cfg.source(),
        ": 'mamba': true (lit-gpt's all-Mamba layout) is not supported; use mb_per_layer 1");
  std::vector<bool> mamba(static_cast<std::size_t>(n_layer));
  if (cfg.has("attn_layer_pos")) {
    // A list of layer indices, or (as lit-gpt's configs write it) a string holding one: "[1, 3]".
    nlohmann::json list = cfg.json()["attn_layer_pos"];
    if (list.is_string()) list = nlohmann::json::parse(list.get<std::string>(), nullptr, false);
    check(list.is_array(), cfg.source(),
          ": 'attn_layer_pos' must be a list of layer indices (or a string holding one), got ",
          cfg.json()["attn_layer_pos"].dump());
    std::fill(mamba.begin(), mamba.end(), true);
    for (const auto& v : list) {
      check(v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() < n_layer,
            cfg.source(), ": 'attn_layer_pos' holds ", v.dump(), ", not a layer index in [0, ",
            n_layer, ")");
      mamba[v.get<std::size_t>()] = false;
    }
    return mamba;
  }
  const index_t mb = cfg.integer("mb_per_layer", 2, 0);
  for (index_t i = 0; i < n_layer; ++i) mamba[static_cast<std::size_t>(i)] = mb > 0 && i % mb == 0;
  return mamba;
}

template <class B, StorageType W>
std::shared_ptr<const LanguageModel> load_samba_family(const JsonConfig& cfg, SafeTensors& st,
                                                       const LoadOptions& options) {
  using Stack = presets::Samba<B, W>;
  enum Slot : index_t { mamba_slot = 0, mlp_slot = 1, swa_slot = 2 };
  const index_t d = cfg.integer("n_embd");
  const index_t n_layer = cfg.integer("n_layer");
  const index_t vocab = cfg.integer("vocab_size");
  const index_t padded = cfg.integer("padded_vocab_size", vocab, 1);
  check(padded >= vocab, cfg.source(), ": 'padded_vocab_size' (", padded,
        ") is smaller than 'vocab_size' (", vocab, ")");
  check(!cfg.boolean("bias", false), cfg.source(), ": 'bias': true is not supported");
  check(!cfg.boolean("parallel_residual", false), cfg.source(),
        ": 'parallel_residual': true is not supported");
  const bool has_mlp = cfg.boolean("mlp", true);
  check(!(has_mlp && cfg.boolean("shared_attention_norm", false)), cfg.source(),
        ": 'shared_attention_norm' needs 'parallel_residual' (lit-gpt has no norm_2 then)");

  const std::vector<bool> mamba = samba_mamba_layers(cfg, n_layer);
  const index_t per_layer = has_mlp ? 2 : 1;
  std::vector<index_t> order;
  for (const bool m : mamba) {
    order.push_back(m ? mamba_slot : swa_slot);
    if (has_mlp) order.push_back(mlp_slot);
  }
  const bool has_attention = std::find(mamba.begin(), mamba.end(), false) != mamba.end();

  AttentionConfig ac;
  if (has_attention) {
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
    // "nope": no positional encoding at all.
    ac.rotary_dims = cfg.boolean("nope", false)
                         ? 0
                         : static_cast<index_t>(rotary * static_cast<double>(ac.head_dim));
    ac.validate(AttentionKind::sliding_window);
  }
  MambaConfig mc;
  mc.d_model = d;
  mc.d_state = cfg.integer("mamba_d_state", 16, 1);
  mc.d_conv = cfg.integer("mamba_d_conv", 4, 1);
  mc.expand = cfg.integer("mamba_expand", 2, 1);
  const SwiGLUConfig mlp{d, has_mlp ? cfg.integer("intermediate_size") : 0};
  const auto eps = static_cast<float>(cfg.number("norm_eps", 1e-5));
  const bool tied = cfg.boolean("tie_word_embeddings", false);

  auto stack = Stack::build(order, [&]<class Block>(std::type_identity<Block>, index_t b) {
    const std::string p = concat("transformer.h.", b / per_layer, ".");
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
  constexpr std::string_view names[] = {"Mamba", "MLP", "SWA", "MLP"};
  info.pattern = "Samba " + describe_order(order, names);
  std::string dims =
      concat("d_model ", d, ", ", n_layer, " lit-gpt layers (", order.size(), " blocks)");
  if (has_attention)
    dims += concat(", ", ac.n_heads, " heads x ", ac.head_dim, " (", ac.resolved_n_kv_heads(),
                   " kv), window ", ac.window, ", rotary dims ", ac.rotary_dims);
  if (has_mlp) dims += concat(", MLP ", mlp.d_ff);
  if (std::find(mamba.begin(), mamba.end(), true) != mamba.end())
    dims += concat(", Mamba d_inner ", mc.d_inner(), " d_state ", mc.d_state);
  info.dims = dims + concat(", vocab ", vocab, " (logits ", padded, ")");
  info.bounded_state = true;
  return finish(std::move(model), std::move(info), st, options);
}

}  // namespace samba::detail

namespace samba {
struct SambaFamily {
  static constexpr std::string_view model_type = "samba";
  static constexpr std::string_view layout =
      "the official Samba training code (microsoft/Samba, lit-gpt names)";
  // lit-gpt's config names the width n_embd (Hugging Face-style configs say hidden_size).
  static bool accepts(const JsonConfig& cfg) { return cfg.has("n_embd"); }
  template <class B, StorageType W>
  static std::shared_ptr<const LanguageModel> load(const JsonConfig& cfg, SafeTensors& st,
                                                   const LoadOptions& options) {
    return detail::load_samba_family<B, W>(cfg, st, options);
  }
};
}  // namespace samba

// What flash-linear-attention's models (fla-org/flash-linear-attention, fla/models/*) share: the
// `attn` dict of their configs, which puts softmax attention (fla/layers/attn.py) at the listed
// layers, that attention's weights, and the GatedMLP with its default width.
//
// fla's attention: q, k, v, o projections without bias, head_dim = hidden_size / num_heads,
// rotate-half RoPE over the whole head (base rope_theta), flash-attn's causal window
// (window_size − 1, 0): query i sees keys i − window_size + 1 … i; no window: full causal
// attention.
#pragma once

#include <string>
#include <vector>

#include "samba/layers/attention.hpp"
#include "samba/layers/swiglu.hpp"
#include "samba/model/families/common.hpp"

namespace samba::detail {

// The `attn` dict: which layers are attention, and their config (window 0: full attention).
struct FlaAttention {
  std::vector<bool> at;  // per layer
  AttentionConfig config;
  bool any() const {
    for (const bool a : at)
      if (a) return true;
    return false;
  }
};

inline FlaAttention read_fla_attention(const JsonConfig& cfg, index_t d, index_t n_layers) {
  FlaAttention out;
  out.at.assign(static_cast<std::size_t>(n_layers), false);
  if (!cfg.has("attn")) return out;
  const nlohmann::json& a = cfg.json()["attn"];
  check(a.is_object(), cfg.source(), ": 'attn' must be a dict, got ", a.dump());
  const JsonConfig sub = JsonConfig::parse(a.dump(), cfg.source() + " 'attn'");
  check(sub.has("layers") && sub.json()["layers"].is_array(), cfg.source(),
        ": 'attn' must list its 'layers' (indices of the attention layers)");
  for (const auto& v : sub.json()["layers"]) {
    check(v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() < n_layers,
          cfg.source(), ": 'attn' 'layers' holds ", v.dump(), ", not a layer index in [0, ",
          n_layers, ")");
    out.at[v.get<std::size_t>()] = true;
  }
  check(!sub.boolean("qkv_bias", false), sub.source(), ": 'qkv_bias': true is not supported");
  check(!sub.boolean("qk_norm", false), sub.source(), ": 'qk_norm': true is not supported");
  AttentionConfig& c = out.config;
  c.d_model = d;
  c.n_heads = sub.integer("num_heads");
  c.n_kv_heads = sub.integer("num_kv_heads", c.n_heads, 1);
  check(d % c.n_heads == 0, sub.source(), ": hidden_size (", d, ") is not divisible by num_heads (",
        c.n_heads, ")");
  check(c.n_heads % c.n_kv_heads == 0, sub.source(), ": num_kv_heads (", c.n_kv_heads,
        ") does not divide num_heads (", c.n_heads, ")");
  c.head_dim = d / c.n_heads;
  c.window = sub.integer("window_size", 0, 1);
  c.rope_base = sub.has("rope_theta") ? sub.number("rope_theta") : 10000.0;
  check(c.rope_base > 0, sub.source(), ": 'rope_theta' must be > 0");
  c.validate(c.window > 0 ? AttentionKind::sliding_window : AttentionKind::causal);
  return out;
}

template <class L, StorageType W>
L load_fla_attention(SafeTensors& st, const std::string& p, const AttentionConfig& c) {
  const index_t d = c.d_model;
  AttentionWeights<W> w{st.load<W>(p + "q_proj.weight", {c.q_dim(), d}),
                        st.load<W>(p + "k_proj.weight", {c.kv_dim(), d}),
                        st.load<W>(p + "v_proj.weight", {c.kv_dim(), d}),
                        st.load<W>(p + "o_proj.weight", {d, c.q_dim()})};
  return L(c, std::move(w));
}

// fla's GatedMLP: down(swish(gate x) ⊙ up x); its width intermediate_size, or by default
// hidden_size · hidden_ratio · 2/3 rounded up to a multiple of 256.
inline SwiGLUConfig fla_mlp_config(const JsonConfig& cfg, index_t d) {
  const std::string act = cfg.string("hidden_act", "swish");
  check(act == "swish" || act == "silu", cfg.source(), ": 'hidden_act' \"", act,
        "\" is not supported (fla's GatedMLP with \"swish\")");
  if (cfg.has("intermediate_size")) return {d, cfg.integer("intermediate_size")};
  const index_t ratio = cfg.integer("hidden_ratio", 4, 1);
  const auto width = static_cast<index_t>(static_cast<double>(d * ratio) * 2.0 / 3.0);
  return {d, 256 * ((width + 255) / 256)};
}

template <class B, StorageType W>
SwiGLU<B, W> load_fla_mlp(SafeTensors& st, const std::string& p, const SwiGLUConfig& c) {
  SwiGLUWeights<W> w{st.load<W>(p + "gate_proj.weight", {c.d_ff, c.d_model}),
                     st.load<W>(p + "up_proj.weight", {c.d_ff, c.d_model}),
                     st.load<W>(p + "down_proj.weight", {c.d_model, c.d_ff})};
  return SwiGLU<B, W>(c, std::move(w));
}

}  // namespace samba::detail

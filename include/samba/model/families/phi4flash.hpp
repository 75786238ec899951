// Phi-4-mini-flash checkpoints (Hugging Face model_type "phi4flash", Phi4FlashForCausalLM: SambaY)
// → presets::SambaY. Registered in model/registry.hpp as Phi4FlashFamily. The published code it
// follows: the model's remote code (modeling_phi4flash.py, configuration_phi4flash.py), as ported
// in vLLM's phi4flash.py.
//
// Layer i of num_hidden_layers = N (the published rules): Mamba when mb_per_layer > 0 and
// i % mb_per_layer == 0, attention otherwise; attention layers below N/2 at odd i use a sliding
// window of `sliding_window` keys; layers from N/2 + 2 on are the cross-decoder's (a Mamba layer
// there is a GMU, an attention layer cross-attention over layer N/2 + 1's KV cache); the Mamba
// layer at N/2 also yields the GMUs' memory. The layout samba builds (every released checkpoint's):
// the self-decoder's layers are Mamba or sliding-window attention, layer N/2 is Mamba, N/2 + 1 is
// attention, and GMU / cross-attention pairs follow. Any other layout is refused, naming the layer.
// Every mixer's tensors are under model.layers.{i}.attn.; norms are LayerNorms with biases; fc1
// holds [gate; up]; no positional encoding (rope_theta is unused).
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "samba/layers/differential_attention.hpp"
#include "samba/layers/layer_norm.hpp"
#include "samba/model/families/common.hpp"
#include "samba/model/model.hpp"
#include "samba/stack/presets.hpp"

namespace samba::detail {

enum class Phi4FlashLayer { mamba, sliding_attention, memory_mamba, shared_attention, gmu, cross };

inline std::string_view phi4flash_layer_name(Phi4FlashLayer k) {
  switch (k) {
    case Phi4FlashLayer::mamba:
      return "Mamba";
    case Phi4FlashLayer::sliding_attention:
      return "SWA";
    case Phi4FlashLayer::memory_mamba:
      return "memory Mamba";
    case Phi4FlashLayer::shared_attention:
      return "shared attention";
    case Phi4FlashLayer::gmu:
      return "GMU";
    case Phi4FlashLayer::cross:
      return "cross-attention";
  }
  return "?";
}

// The kind of every layer by the published rules, refusing the layouts samba does not build.
inline std::vector<Phi4FlashLayer> phi4flash_layers(const JsonConfig& cfg, index_t n, index_t mb) {
  check(
      n >= 4 && n % 2 == 0, cfg.source(), ": 'num_hidden_layers' is ", n,
      "; SambaY splits its layers in two equal halves of at least 2, so it must be even and >= 4");
  std::vector<Phi4FlashLayer> kinds;
  for (index_t i = 0; i < n; ++i) {
    const bool mamba = mb > 0 && i % mb == 0;
    const bool cross = i >= n / 2 + 2;
    Phi4FlashLayer k;
    if (cross)
      k = mamba ? Phi4FlashLayer::gmu : Phi4FlashLayer::cross;
    else if (i >= n / 2)
      k = mamba ? Phi4FlashLayer::memory_mamba : Phi4FlashLayer::shared_attention;
    else
      k = mamba ? Phi4FlashLayer::mamba : Phi4FlashLayer::sliding_attention;
    kinds.push_back(k);
    // What the published code would build there, where samba builds something else.
    const bool full_self_attention = k == Phi4FlashLayer::sliding_attention && i % 2 == 0;
    const Phi4FlashLayer want =
        i == n / 2       ? Phi4FlashLayer::memory_mamba
        : i == n / 2 + 1 ? Phi4FlashLayer::shared_attention
        : cross          ? ((i - n / 2) % 2 == 0 ? Phi4FlashLayer::gmu : Phi4FlashLayer::cross)
                         : k;
    check(!full_self_attention && k == want, cfg.source(), ": with num_hidden_layers ", n,
          " and mb_per_layer ", mb, ", layer ", i, " is ",
          full_self_attention ? "full attention in the self-decoder" : phi4flash_layer_name(k),
          "; samba builds the SambaY layout (self-decoder layers Mamba or sliding-window "
          "attention, layer N/2 Mamba, N/2 + 1 attention, then GMU / cross-attention pairs), "
          "where it would be ",
          phi4flash_layer_name(want));
  }
  return kinds;
}

// sliding_window: one number, or the per-layer list the published config class makes of it (null
// at every layer without a window).
inline index_t phi4flash_window(const JsonConfig& cfg, const std::vector<Phi4FlashLayer>& kinds) {
  if (!cfg.has("sliding_window")) return 2047;  // the config class's default
  const auto& v = cfg.json()["sliding_window"];
  if (!v.is_array()) return cfg.integer("sliding_window", 1);
  check(v.size() == kinds.size(), cfg.source(), ": 'sliding_window' is a list of ", v.size(),
        " entries for ", kinds.size(), " layers");
  index_t window = 0;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    const bool sliding = kinds[i] == Phi4FlashLayer::sliding_attention;
    check(sliding ? (v[i].is_number_integer() && v[i].get<std::int64_t>() > 0 &&
                     (window == 0 || v[i].get<std::int64_t>() == window))
                  : v[i].is_null(),
          cfg.source(), ": 'sliding_window' entry ", i, " is ", v[i].dump(), "; expected ",
          sliding ? "the window (> 0, the same at every sliding layer)"
                  : "null (layer without a window)");
    if (sliding) window = static_cast<index_t>(v[i].get<std::int64_t>());
  }
  return window > 0 ? window : 2047;
}

template <class B, StorageType W>
std::shared_ptr<const LanguageModel> load_phi4flash_family(const JsonConfig& cfg, SafeTensors& st,
                                                           const LoadOptions& options) {
  using Stack = presets::SambaY<B, W>;
  using Decoder = CrossDecoder<B, W>;
  // Absent keys take Phi4FlashConfig's defaults.
  const index_t d = cfg.integer("hidden_size", 2560, 1);
  const index_t n = cfg.integer("num_hidden_layers", 32, 1);
  const index_t vocab = cfg.integer("vocab_size", 51200, 1);
  const index_t d_ff = cfg.integer("intermediate_size", 9216, 1);
  const index_t mb = cfg.integer("mb_per_layer", 2, 0);
  const auto eps = static_cast<float>(cfg.number("layer_norm_eps", 1e-5));
  const bool tied = cfg.boolean("tie_word_embeddings", true);
  const std::string act = cfg.string("hidden_act", "silu");
  check(act == "silu", cfg.source(), ": 'hidden_act' \"", act,
        "\" is not supported (the published MLP is silu(gate) * up)");
  for (const char* key : {"mlp_bias", "lm_head_bias", "mamba_proj_bias"})
    check(!cfg.boolean(key, false), cfg.source(), ": '", key,
          "': true is not supported (the released model has no such bias)");
  const std::vector<Phi4FlashLayer> kinds = phi4flash_layers(cfg, n, mb);

  DiffAttentionConfig ac;
  ac.d_model = d;
  ac.n_heads = cfg.integer("num_attention_heads", 40, 1);
  // Absent: the class default, 4; null: the class makes it num_attention_heads.
  ac.n_kv_heads = cfg.has("num_key_value_heads")               ? cfg.integer("num_key_value_heads")
                  : cfg.json().contains("num_key_value_heads") ? ac.n_heads
                                                               : 4;
  check(d % ac.n_heads == 0, cfg.source(), ": 'hidden_size' (", d,
        ") is not divisible by 'num_attention_heads' (", ac.n_heads, ")");
  check(ac.n_heads % ac.n_kv_heads == 0, cfg.source(), ": 'num_attention_heads' (", ac.n_heads,
        ") is not divisible by 'num_key_value_heads' (", ac.n_kv_heads, ")");
  check(ac.n_heads % 2 == 0 && ac.n_kv_heads % 2 == 0, cfg.source(),
        ": differential attention pairs heads, so 'num_attention_heads' (", ac.n_heads,
        ") and 'num_key_value_heads' (", ac.n_kv_heads, ") must be even");
  ac.head_dim = d / ac.n_heads;
  ac.window = phi4flash_window(cfg, kinds);
  ac.norm_eps = 1e-5f;  // the sub-layer norm's eps is fixed in the published code

  MambaConfig mc;
  mc.d_model = d;
  mc.d_state = cfg.integer("mamba_d_state", 16, 1);
  mc.d_conv = cfg.integer("mamba_d_conv", 4, 1);
  mc.expand = cfg.integer("mamba_expand", 2, 1);
  if (cfg.has("mamba_dt_rank") && !cfg.json()["mamba_dt_rank"].is_string())
    mc.dt_rank = cfg.integer("mamba_dt_rank");
  else
    check(cfg.string("mamba_dt_rank", "auto") == "auto", cfg.source(),
          ": 'mamba_dt_rank' must be an integer or \"auto\"");
  const bool conv_bias = cfg.boolean("mamba_conv_bias", true);
  const SwiGLUConfig mlp{d, d_ff};

  auto layer = [](index_t i) { return concat("model.layers.", i, "."); };
  auto norm = [&](const std::string& name) {
    return LayerNorm<B>(LayerNormConfig{d, eps},
                        LayerNormWeights{st.load<float>(name + ".weight", {d}),
                                         st.load<float>(name + ".bias", {d})});
  };
  auto swiglu = [&](index_t i) {
    const Tensor<W> fc1 = st.load<W>(layer(i) + "mlp.fc1.weight", {2 * d_ff, d});
    auto rows = [&](index_t first) {
      HostBuffer<W> b(d_ff * d);
      std::copy_n(fc1.data() + first * d, d_ff * d, b.data());
      return Tensor<W>(Shape{d_ff, d}, std::move(b));
    };
    return PreNorm<SwiGLU<B, W>, LayerNorm<B>>(
        norm(layer(i) + "post_attention_layernorm"),
        SwiGLU<B, W>(mlp, SwiGLUWeights<W>{rows(0), rows(d_ff),
                                           st.load<W>(layer(i) + "mlp.fc2.weight", {d, d_ff})}));
  };
  auto attention_weights = [&](index_t i, bool cross) {
    const std::string p = layer(i) + "attn.";
    const index_t rows = cross ? ac.q_dim() : ac.q_dim() + 2 * ac.kv_dim(),
                  hd = ac.resolved_head_dim();
    DiffAttentionWeights<W> w;
    w.wqkv = st.load<W>(p + "Wqkv.weight", {rows, d});
    w.bqkv = st.load<float>(p + "Wqkv.bias", {rows});
    w.wo = st.load<W>(p + "out_proj.weight", {d, ac.q_dim()});
    w.bo = st.load<float>(p + "out_proj.bias", {d});
    w.lambda_q1 = st.load<float>(p + "inner_cross_attn.lambda_q1", {hd});
    w.lambda_k1 = st.load<float>(p + "inner_cross_attn.lambda_k1", {hd});
    w.lambda_q2 = st.load<float>(p + "inner_cross_attn.lambda_q2", {hd});
    w.lambda_k2 = st.load<float>(p + "inner_cross_attn.lambda_k2", {hd});
    w.subln = st.load<float>(p + "inner_cross_attn.subln.weight", {2 * hd});
    return w;
  };
  auto config_at = [&](index_t i, bool windowed) {
    DiffAttentionConfig c = ac;
    c.layer_index = i;
    if (!windowed) c.window = 0;
    return c;
  };

  enum Slot : index_t { mamba_slot = 0, mlp_slot = 1, swa_slot = 2, cross_slot = 3 };
  std::vector<index_t> order;
  for (index_t i = 0; i < n / 2; ++i) {
    order.push_back(kinds[static_cast<std::size_t>(i)] == Phi4FlashLayer::mamba ? mamba_slot
                                                                                : swa_slot);
    order.push_back(mlp_slot);
  }
  order.push_back(cross_slot);

  auto stack = Stack::build(order, [&]<class Block>(std::type_identity<Block>, index_t b) {
    if constexpr (std::is_same_v<Block, Decoder>) {
      const index_t m = n / 2, s = n / 2 + 1;
      typename Decoder::template Sub<typename Decoder::Memory> memory{
          norm(layer(m) + "input_layernorm"),
          load_mamba_mixer<B, W>(st, layer(m) + "attn.", mc, conv_bias), swiglu(m)};
      typename Decoder::template Sub<typename Decoder::Shared> shared{
          norm(layer(s) + "input_layernorm"),
          typename Decoder::Shared(config_at(s, false), attention_weights(s, false)), swiglu(s)};
      std::vector<typename Decoder::template Sub<typename Decoder::GMU>> gmus;
      std::vector<typename Decoder::template Sub<typename Decoder::Cross>> cross;
      for (index_t i = n / 2 + 2; i + 1 < n; i += 2) {  // phi4flash_layers checked the pairs
        const std::string g = layer(i) + "attn.";
        gmus.push_back({norm(layer(i) + "input_layernorm"),
                        typename Decoder::GMU(
                            GMUConfig{d, mc.d_inner()},
                            GMUWeights<W>{st.load<W>(g + "in_proj.weight", {mc.d_inner(), d}),
                                          st.load<W>(g + "out_proj.weight", {d, mc.d_inner()})}),
                        swiglu(i)});
        cross.push_back(
            {norm(layer(i + 1) + "input_layernorm"),
             typename Decoder::Cross(config_at(i + 1, false), attention_weights(i + 1, true)),
             swiglu(i + 1)});
      }
      return Decoder(std::move(memory), std::move(shared), std::move(gmus), std::move(cross));
    } else {
      const index_t i = b / 2;
      using L = typename Block::layer_type;
      if constexpr (std::is_same_v<L, SwiGLU<B, W>>) {
        return swiglu(i);
      } else if constexpr (std::is_same_v<L, MambaLayer<B, W>>) {
        return Block(norm(layer(i) + "input_layernorm"),
                     load_mamba_mixer<B, W>(st, layer(i) + "attn.", mc, conv_bias));
      } else {
        return Block(norm(layer(i) + "input_layernorm"),
                     L(config_at(i, true), attention_weights(i, false)));
      }
    }
  });
  // Tied with an lm_head.weight saved anyway: the published model ties it to the embedding, so
  // the copy is unused.
  if (tied && st.contains("lm_head.weight")) (void)st.load<W>("lm_head.weight", {vocab, d});
  Model<Stack, W, LayerNorm<B>> model(
      std::move(stack), vocab, st.load<W>("model.embed_tokens.weight", {vocab, d}),
      norm("model.final_layernorm"), tied ? Tensor<W>{} : st.load<W>("lm_head.weight", {vocab, d}));
  ModelInfo info;
  info.family = "phi4flash";
  std::string pattern;
  for (std::size_t i = 0; i < kinds.size(); ++i)
    pattern += concat(i == 0 ? "" : ", ", phi4flash_layer_name(kinds[i]));
  info.pattern = "SambaY [" + pattern + "] (each layer with an MLP)";
  info.dims =
      concat("d_model ", d, ", ", n, " layers, ", ac.n_heads, " heads x ", ac.resolved_head_dim(),
             " (", ac.n_kv_heads, " kv) in differential pairs, window ", ac.window, ", MLP ", d_ff,
             ", Mamba d_inner ", mc.d_inner(), " d_state ", mc.d_state, ", vocab ", vocab);
  info.bounded_state = false;  // the shared KV cache grows with the context
  return finish(std::move(model), std::move(info), st, options);
}

}  // namespace samba::detail

namespace samba {
struct Phi4FlashFamily {
  static constexpr std::string_view model_type = "phi4flash";
  static constexpr std::string_view layout =
      "Phi-4-mini-flash (SambaY; the model's Hugging Face remote code, Phi4FlashForCausalLM)";
  static bool accepts(const JsonConfig&) { return true; }
  template <class B, StorageType W>
  static std::shared_ptr<const LanguageModel> load(const JsonConfig& cfg, SafeTensors& st,
                                                   const LoadOptions& options) {
    return detail::load_phi4flash_family<B, W>(cfg, st, options);
  }
};
}  // namespace samba

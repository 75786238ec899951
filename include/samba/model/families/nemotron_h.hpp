// NVIDIA Nemotron-H checkpoints (model_type "nemotron_h", NemotronHForCausalLM as Hugging Face
// transformers ports it) → presets::NemotronH's block types in the config's order. Registered in
// model/registry.hpp as NemotronHFamily.
//
// Every layer is one block, x + mixer(norm(x)), its kind from `hybrid_override_pattern` (one
// letter per layer: M Mamba-2, * attention, - MLP, E mixture of experts) or from the list
// `layers_block_type` / `layer_types` ("mamba" / "linear_attention", "attention" /
// "full_attention", "mlp", "moe"):
//   - Mamba-2: NemotronHMamba2Mixer, inner width mamba_num_heads · mamba_head_dim, its gated
//     RMSNorm over groups of inner / n_groups channels (Zamba2RMSNormGated);
//   - attention: JambaAttention, no positional encoding, full causal, GQA;
//   - MLP: up_proj, relu², down_proj (FeedForward);
//   - E: an error until samba has mixture-of-experts layers.
// Tensors under backbone.* (the released checkpoints) or model.* (as transformers saves them now);
// the head is the embedding when tie_word_embeddings is true and there is no lm_head.weight.
// Only backends with Mamba-2 and FeedForward kernels build these (the CPU today).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "samba/layers/feed_forward.hpp"
#include "samba/model/families/mamba2.hpp"

namespace samba::detail {

enum NemotronSlot : index_t { nemotron_mamba = 0, nemotron_mlp = 1, nemotron_attention = 2 };

// The layer kinds in order, from the pattern string or the list.
inline std::vector<index_t> nemotron_h_order(const JsonConfig& cfg) {
  std::vector<index_t> order;
  const auto moe = [&](const std::string& where) {
    fail(cfg.source(), ": ", where,
         " is a mixture-of-experts layer, which samba does not support yet");
  };
  if (cfg.has("hybrid_override_pattern")) {
    const std::string p = cfg.string("hybrid_override_pattern");
    for (std::size_t i = 0; i < p.size(); ++i) {
      switch (p[i]) {
        case 'M':
          order.push_back(nemotron_mamba);
          break;
        case '-':
          order.push_back(nemotron_mlp);
          break;
        case '*':
          order.push_back(nemotron_attention);
          break;
        case 'E':
          moe(concat("'hybrid_override_pattern' letter ", i, " ('E')"));
          break;
        default:
          fail(cfg.source(), ": 'hybrid_override_pattern' has '", p.substr(i, 1), "' at ", i,
               ", not one of M (Mamba-2), * (attention), - (MLP), E (mixture of experts)");
      }
    }
  } else {
    const std::string key = cfg.has("layers_block_type") ? "layers_block_type" : "layer_types";
    check(cfg.has(key), cfg.source(),
          ": the layer order is missing (hybrid_override_pattern or layers_block_type); the "
          "default order has a mixture-of-experts layer, which samba does not support yet");
    const nlohmann::json& list = cfg.json()[key];
    check(list.is_array(), cfg.source(), ": '", key, "' must be a list of layer types");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string t = list[i].is_string() ? list[i].get<std::string>() : list[i].dump();
      if (t == "mamba" || t == "linear_attention") {
        order.push_back(nemotron_mamba);
      } else if (t == "attention" || t == "full_attention") {
        order.push_back(nemotron_attention);
      } else if (t == "mlp") {
        order.push_back(nemotron_mlp);
      } else if (t == "moe") {
        moe(concat("'", key, "'[", i, "]"));
      } else {
        fail(cfg.source(), ": '", key, "'[", i, "] is \"", t,
             "\", not one of mamba (linear_attention), attention (full_attention), mlp, moe");
      }
    }
  }
  check(!order.empty(), cfg.source(), ": the model has no layers");
  if (cfg.has("num_hidden_layers"))
    check(cfg.integer("num_hidden_layers") == static_cast<index_t>(order.size()), cfg.source(),
          ": 'num_hidden_layers' (", cfg.integer("num_hidden_layers"), ") is not the ",
          order.size(), " layers of the layer pattern");
  return order;
}

// A key under its current name or the older one the released configs use (mamba_n_groups …).
inline std::string nemotron_key(const JsonConfig& cfg, const std::string& key,
                                const std::string& legacy) {
  return !cfg.has(key) && cfg.has(legacy) ? legacy : key;
}

template <class B, StorageType W>
std::shared_ptr<const LanguageModel> load_nemotron_h_family(const JsonConfig& cfg, SafeTensors& st,
                                                            const LoadOptions& options) {
  using Stack = presets::NemotronH<B, W>;
  const index_t d = cfg.integer("hidden_size", 4096, 1);
  const index_t vocab = cfg.integer("vocab_size", 131072, 1);
  const auto eps = static_cast<float>(cfg.number("layer_norm_epsilon", 1e-5));
  const std::vector<index_t> order = nemotron_h_order(cfg);
  const auto has = [&](index_t kind) {
    return std::find(order.begin(), order.end(), kind) != order.end();
  };
  for (const char* key : {"use_bias", "mamba_proj_bias", "mlp_bias", "attention_bias"})
    check(!cfg.boolean(key, false), cfg.source(), ": '", key, "': true is not supported");

  Mamba2Config mc;
  if (has(nemotron_mamba)) {
    check(cfg.string("mamba_hidden_act", "silu") == "silu", cfg.source(),
          ": 'mamba_hidden_act' must be \"silu\"");
    const index_t heads = cfg.integer("mamba_num_heads", 128, 1);
    const index_t head_dim = cfg.integer("mamba_head_dim", 64, 1);
    mc.d_model = d;
    mc.d_inner = heads * head_dim;
    mc.head_dim = head_dim;
    mc.d_state = cfg.integer("ssm_state_size", 128, 1);
    mc.n_groups = cfg.integer(nemotron_key(cfg, "n_groups", "mamba_n_groups"), 8, 1);
    mc.d_conv = cfg.integer(nemotron_key(cfg, "conv_kernel", "mamba_d_conv"), 4, 1);
    check(heads % mc.n_groups == 0, cfg.source(), ": 'n_groups' (", mc.n_groups,
          ") does not divide 'mamba_num_heads' (", heads, ")");
    mc.norm_group = mc.d_inner / mc.n_groups;  // Zamba2RMSNormGated's group_size
    mc.norm_eps = eps;
    read_time_step_limit(cfg, mc, nemotron_key(cfg, "time_step_limit", "mamba_dt_limit"));
  }
  const bool conv_bias = cfg.boolean(nemotron_key(cfg, "use_conv_bias", "mamba_conv_bias"), true);
  AttentionConfig ac;
  if (has(nemotron_attention)) {
    check(!cfg.has("sliding_window"), cfg.source(),
          ": 'sliding_window' is not supported for nemotron_h (its attention is full)");
    ac.d_model = d;
    ac.n_heads = cfg.integer("num_attention_heads", 32, 1);
    ac.n_kv_heads = cfg.integer("num_key_value_heads", ac.n_heads, 1);
    ac.head_dim = cfg.integer("head_dim", 0, 1);
    if (ac.head_dim == 0) {
      check(d % ac.n_heads == 0, cfg.source(), ": hidden_size (", d,
            ") is not divisible by num_attention_heads (", ac.n_heads,
            ") and head_dim is not given");
      ac.head_dim = d / ac.n_heads;
    }
    check(ac.n_heads % ac.n_kv_heads == 0, cfg.source(), ": num_key_value_heads (", ac.n_kv_heads,
          ") does not divide num_attention_heads (", ac.n_heads, ")");
    ac.rotary_dims = 0;  // no positional encoding
    ac.validate(AttentionKind::causal);
  }
  FeedForwardConfig fc;
  if (has(nemotron_mlp)) {
    const std::string act = cfg.string("mlp_hidden_act", "relu2");
    check(act == "relu2", cfg.source(), ": 'mlp_hidden_act' \"", act,
          "\" is not supported (Nemotron-H's MLP uses \"relu2\")");
    fc = {d, cfg.integer("intermediate_size", 21504, 1)};
  }

  // Released checkpoints name the trunk backbone.*; transformers now saves it as model.*.
  const std::string root = st.contains("backbone.embeddings.weight") ? "backbone." : "model.";
  auto stack = Stack::build(order, [&]<class Block>(std::type_identity<Block>, index_t b) {
    const std::string p = concat(root, "layers.", b, ".");
    using L = typename Block::layer_type;
    auto norm = load_norm<B>(st, p + "norm.weight", d, eps);
    if constexpr (std::is_same_v<L, Mamba2Layer<B, W>>) {
      return Block(std::move(norm), load_mamba2_mixer<B, W>(st, p + "mixer.", mc, conv_bias));
    } else if constexpr (std::is_same_v<L, FeedForward<B, W>>) {
      FeedForwardWeights<W> w{st.load<W>(p + "mixer.up_proj.weight", {fc.d_ff, d}),
                              st.load<W>(p + "mixer.down_proj.weight", {d, fc.d_ff})};
      return Block(std::move(norm), L(fc, std::move(w)));
    } else {
      AttentionWeights<W> w{st.load<W>(p + "mixer.q_proj.weight", {ac.q_dim(), d}),
                            st.load<W>(p + "mixer.k_proj.weight", {ac.kv_dim(), d}),
                            st.load<W>(p + "mixer.v_proj.weight", {ac.kv_dim(), d}),
                            st.load<W>(p + "mixer.o_proj.weight", {d, ac.q_dim()})};
      return Block(std::move(norm), L(ac, std::move(w)));
    }
  });
  const bool tied = cfg.boolean("tie_word_embeddings", false) && !st.contains("lm_head.weight");
  Model<Stack, W> model(std::move(stack), vocab, st.load<W>(root + "embeddings.weight", {vocab, d}),
                        load_norm<B>(st, root + "norm_f.weight", d, eps),
                        tied ? Tensor<W>{} : st.load<W>("lm_head.weight", {vocab, d}));
  ModelInfo info;
  info.family = "nemotron_h";
  constexpr std::string_view names[] = {"Mamba-2", "MLP", "attention"};
  info.pattern = "NemotronH " + describe_order(order, names);
  std::string dims = concat("d_model ", d, ", ", order.size(), " layers");
  if (has(nemotron_mamba))
    dims += concat(", Mamba-2 ", mc.n_heads(), " heads x ", mc.head_dim, " in ", mc.n_groups,
                   " groups, d_state ", mc.d_state);
  if (has(nemotron_attention))
    dims += concat(", attention ", ac.n_heads, " heads x ", ac.head_dim, " (",
                   ac.resolved_n_kv_heads(), " kv), no RoPE");
  if (has(nemotron_mlp)) dims += concat(", MLP ", fc.d_ff, " relu²");
  info.dims = dims + concat(", vocab ", vocab);
  info.bounded_state = !has(nemotron_attention);
  return finish(std::move(model), std::move(info), st, options);
}

}  // namespace samba::detail

namespace samba {
struct NemotronHFamily {
  static constexpr std::string_view model_type = "nemotron_h";
  static constexpr std::string_view layout =
      "Hugging Face NemotronHForCausalLM (NVIDIA Nemotron-H)";
  static bool accepts(const JsonConfig&) { return true; }
  template <class B, StorageType W>
  static std::shared_ptr<const LanguageModel> load(const JsonConfig& cfg, SafeTensors& st,
                                                   const LoadOptions& options) {
    if constexpr (has_mamba2_kernel<B> && has_feed_forward_kernel<B>) {
      return detail::load_nemotron_h_family<B, W>(cfg, st, options);
    } else {
      detail::fail(cfg.source(),
                   ": model_type \"nemotron_h\" needs Mamba-2 and FeedForward kernels, which "
                   "backend ",
                   B::name, " does not have yet");
    }
  }
};
}  // namespace samba

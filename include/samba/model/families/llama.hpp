// Hugging Face Llama and Mistral checkpoints (model_type "llama", "mistral") → presets::Llama, or
// presets::LlamaSWA when Mistral's sliding_window is set. Registered in model/registry.hpp as
// LlamaFamily and MistralFamily.
#pragma once

#include "samba/model/families/common.hpp"
#include "samba/model/model.hpp"
#include "samba/stack/presets.hpp"

namespace samba::detail {

template <class Stack, StorageType W>
std::shared_ptr<const LanguageModel> load_llama_stack(const JsonConfig& cfg, SafeTensors& st,
                                                      const LoadOptions& options,
                                                      const std::string& family, index_t window) {
  using B = typename Stack::backend_type;
  const index_t d = cfg.integer("hidden_size");
  const index_t n_layers = cfg.integer("num_hidden_layers");
  const index_t vocab = cfg.integer("vocab_size");
  AttentionConfig ac;
  ac.d_model = d;
  ac.n_heads = cfg.integer("num_attention_heads");
  ac.n_kv_heads = cfg.integer("num_key_value_heads", ac.n_heads, 1);
  ac.head_dim = cfg.integer("head_dim", 0, 1);
  if (ac.head_dim == 0) {
    check(d % ac.n_heads == 0, cfg.source(), ": hidden_size (", d,
          ") is not divisible by num_attention_heads (", ac.n_heads, ") and head_dim is not given");
    ac.head_dim = d / ac.n_heads;
  }
  ac.window = window;
  ac.rope_base = cfg.number("rope_theta", 10000.0);
  check(ac.rope_base > 0, cfg.source(), ": 'rope_theta' must be > 0");
  check(!cfg.has("rope_scaling"), cfg.source(), ": 'rope_scaling' is not supported yet");
  check(!cfg.boolean("attention_bias", false), cfg.source(),
        ": 'attention_bias': true is not supported");
  check(!cfg.boolean("mlp_bias", false), cfg.source(), ": 'mlp_bias': true is not supported");
  const std::string act = cfg.string("hidden_act", "silu");
  check(act == "silu", cfg.source(), ": 'hidden_act' must be \"silu\" (SwiGLU), got \"", act, "\"");
  const SwiGLUConfig mc{d, cfg.integer("intermediate_size")};
  const auto eps = static_cast<float>(cfg.number("rms_norm_eps", 1e-6));
  const bool tied = cfg.boolean("tie_word_embeddings", false);

  auto stack = Stack::build(2 * n_layers, [&]<class Block>(std::type_identity<Block>, index_t b) {
    const std::string p = concat("model.layers.", b / 2, ".");
    using L = typename Block::layer_type;
    if constexpr (std::is_same_v<L, SwiGLU<B, W>>) {
      SwiGLUWeights<W> w{st.load<W>(p + "mlp.gate_proj.weight", {mc.d_ff, d}),
                         st.load<W>(p + "mlp.up_proj.weight", {mc.d_ff, d}),
                         st.load<W>(p + "mlp.down_proj.weight", {d, mc.d_ff})};
      return Block(load_norm<B>(st, p + "post_attention_layernorm.weight", d, eps),
                   L(mc, std::move(w)));
    } else {
      AttentionWeights<W> w{st.load<W>(p + "self_attn.q_proj.weight", {ac.q_dim(), d}),
                            st.load<W>(p + "self_attn.k_proj.weight", {ac.kv_dim(), d}),
                            st.load<W>(p + "self_attn.v_proj.weight", {ac.kv_dim(), d}),
                            st.load<W>(p + "self_attn.o_proj.weight", {d, ac.q_dim()})};
      return Block(load_norm<B>(st, p + "input_layernorm.weight", d, eps), L(ac, std::move(w)));
    }
  });
  Model<Stack, W> model(std::move(stack), vocab,
                        st.load<W>("model.embed_tokens.weight", {vocab, d}),
                        load_norm<B>(st, "model.norm.weight", d, eps),
                        tied ? Tensor<W>{} : st.load<W>("lm_head.weight", {vocab, d}));
  ModelInfo info;
  info.family = family;
  constexpr std::string_view full[] = {"attention", "MLP"}, sliding[] = {"SWA", "MLP"};
  info.pattern = window > 0 ? "LlamaSWA " + describe_order(model.stack().order(), sliding)
                            : "Llama " + describe_order(model.stack().order(), full);
  info.dims = concat("d_model ", d, ", ", n_layers, " layers, ", ac.n_heads, " heads x ",
                     ac.head_dim, " (", ac.resolved_n_kv_heads(), " kv), ",
                     window > 0 ? concat("window ", window, ", ") : std::string(), "MLP ", mc.d_ff,
                     ", rope_theta ", ac.rope_base, ", vocab ", vocab);
  info.bounded_state = window > 0;
  return finish(std::move(model), std::move(info), st, options);
}

template <class B, StorageType W>
std::shared_ptr<const LanguageModel> load_llama_family(const JsonConfig& cfg, SafeTensors& st,
                                                       const LoadOptions& options,
                                                       const std::string& family) {
  const index_t window =
      family == "mistral" && cfg.has("sliding_window") ? cfg.integer("sliding_window") : 0;
  if (window > 0)
    return load_llama_stack<presets::LlamaSWA<B, W>, W>(cfg, st, options, family, window);
  return load_llama_stack<presets::Llama<B, W>, W>(cfg, st, options, family, 0);
}

}  // namespace samba::detail

namespace samba {
struct LlamaFamily {
  static constexpr std::string_view model_type = "llama";
  static constexpr std::string_view layout = "Hugging Face LlamaForCausalLM";
  static bool accepts(const JsonConfig&) { return true; }
  template <class B, StorageType W>
  static std::shared_ptr<const LanguageModel> load(const JsonConfig& cfg, SafeTensors& st,
                                                   const LoadOptions& options) {
    return detail::load_llama_family<B, W>(cfg, st, options, "llama");
  }
};
struct MistralFamily {
  static constexpr std::string_view model_type = "mistral";
  static constexpr std::string_view layout =
      "Hugging Face MistralForCausalLM (sliding_window: SWA, else full attention)";
  static bool accepts(const JsonConfig&) { return true; }
  template <class B, StorageType W>
  static std::shared_ptr<const LanguageModel> load(const JsonConfig& cfg, SafeTensors& st,
                                                   const LoadOptions& options) {
    return detail::load_llama_family<B, W>(cfg, st, options, "mistral");
  }
};
}  // namespace samba

// RecurrentGemma checkpoints (model_type "recurrent_gemma", RecurrentGemmaForCausalLM as Hugging
// Face transformers publishes it: Griffin, De et al. 2024) → presets::Griffin's block types in the
// config's order. Registered in model/registry.hpp as RecurrentGemmaFamily.
//
// Layer i is two blocks: x + temporal(norm(x)), then x + MLP(norm(x)), its temporal block from
// `block_types` repeated to num_hidden_layers (HF's layers_block_type):
//   - "recurrent": RGLRULayer (RecurrentGemmaRecurrentBlock);
//   - "attention": local multi-query attention with partial RoPE and a biased o_proj. Its window
//     follows google-deepmind/recurrentgemma, the code the models were trained with: query i sees
//     keys i − W … i, W + 1 of them (W = attention_window_size). The Hugging Face port applies no
//     window in its whole-prompt pass and W keys in its one-token decode; docs/models.md says more.
// The MLP is GeGLU with biases on its three projections, intermediate_size / 2 wide. Every RMSNorm
// is Gemma's, x̂ · (1 + w): the loader adds the 1 to the stored weights. The embedding rows are
// scaled by √hidden_size rounded to bf16 (HF's `normalizer` buffer is a bf16 tensor), the logits
// soft-capped at logits_soft_cap, and the head is the embedding when tie_word_embeddings is true
// (the default), else lm_head.weight.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "samba/layers/attention.hpp"
#include "samba/layers/rglru.hpp"
#include "samba/layers/swiglu.hpp"
#include "samba/model/families/common.hpp"
#include "samba/model/model.hpp"
#include "samba/stack/order.hpp"
#include "samba/stack/presets.hpp"

namespace samba::detail {

// presets::Griffin's slots that the loader uses: RG-LRU, MLP and attention.
enum GriffinSlot : index_t { griffin_recurrent = 0, griffin_mlp = 1, griffin_attention = 4 };

// The blocks in order: per layer its temporal block, then its MLP.
inline std::vector<index_t> recurrent_gemma_order(const JsonConfig& cfg, index_t layers) {
  std::vector<std::string> types{"recurrent", "recurrent", "attention"};
  if (cfg.has("block_types")) {
    const nlohmann::json& list = cfg.json()["block_types"];
    check(list.is_array() && !list.empty(), cfg.source(),
          ": 'block_types' must be a non-empty list of \"recurrent\" / \"attention\"");
    types.clear();
    for (std::size_t i = 0; i < list.size(); ++i)
      types.push_back(list[i].is_string() ? list[i].get<std::string>() : list[i].dump());
  }
  std::vector<index_t> order;
  for (index_t i = 0; i < layers; ++i) {
    const std::string& t = types[static_cast<std::size_t>(i) % types.size()];
    if (t == "recurrent") {
      order.push_back(griffin_recurrent);
    } else if (t == "attention") {
      order.push_back(griffin_attention);
    } else {
      fail(cfg.source(), ": 'block_types'[", static_cast<std::size_t>(i) % types.size(), "] is \"",
           t, "\", not \"recurrent\" or \"attention\"");
    }
    order.push_back(griffin_mlp);
  }
  return order;
}

// v rounded to the nearest bf16 (ties to even), as torch.tensor(v, dtype=torch.bfloat16) does.
inline float round_to_bf16(double v) {
  const auto f = static_cast<float>(v);
  std::uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits &= 0xFFFF0000u;
  float lo, hi;
  std::memcpy(&lo, &bits, 4);
  const std::uint32_t up = bits + 0x10000u;
  std::memcpy(&hi, &up, 4);
  const double dl = std::abs(v - lo), dh = std::abs(hi - v);
  if (dl != dh) return dl < dh ? lo : hi;
  return (bits & 0x10000u) == 0 ? lo : hi;
}

// A Gemma RMSNorm weight w as the (1 + w) that samba's RMSNorm multiplies by.
template <class B>
RMSNorm<B> load_gemma_norm(SafeTensors& st, const std::string& name, index_t d, float eps) {
  Tensor<float> w = st.load<float>(name, {d});
  HostBuffer<float> one_plus(d);
  for (index_t i = 0; i < d; ++i) one_plus[i] = 1.0f + w.data()[i];
  return RMSNorm<B>(RMSNormConfig{d, eps},
                    RMSNormWeights{Tensor<float>(Shape{d}, std::move(one_plus))});
}

template <class B, StorageType W>
std::shared_ptr<const LanguageModel> load_recurrent_gemma_family(const JsonConfig& cfg,
                                                                 SafeTensors& st,
                                                                 const LoadOptions& options) {
  using Stack = presets::Griffin<B, W>;
  const std::string src = cfg.source();
  const index_t d = cfg.integer("hidden_size", 2560, 1);
  const index_t layers = cfg.integer("num_hidden_layers", 26, 1);
  const index_t vocab = cfg.integer("vocab_size", 256000, 1);
  const index_t heads = cfg.integer("num_attention_heads", 10, 1);
  const auto eps = static_cast<float>(cfg.number("rms_norm_eps", 1e-6));
  const std::string act = cfg.string("hidden_activation", "gelu_pytorch_tanh");
  check(act == "gelu_pytorch_tanh", src, ": 'hidden_activation' \"", act,
        "\" is not supported (RecurrentGemma uses \"gelu_pytorch_tanh\")");
  check(!cfg.boolean("attention_bias", false), src,
        ": 'attention_bias': true is not supported (q, k and v without biases)");
  const std::vector<index_t> order = recurrent_gemma_order(cfg, layers);
  const auto has = [&](index_t kind) {
    return std::find(order.begin(), order.end(), kind) != order.end();
  };
  // Attention's heads split hidden_size (a recurrent-only model, Hawk, needs no such split).
  if (has(griffin_attention))
    check(d % heads == 0, src, ": hidden_size (", d, ") is not divisible by num_attention_heads (",
          heads, ")");

  RGLRUConfig rc;
  rc.d_model = d;
  rc.lru_width = cfg.integer("lru_width", d, 1);
  rc.n_heads = heads;
  rc.conv_width = cfg.integer("conv1d_width", 4, 1);
  if (has(griffin_recurrent))
    check(rc.lru_width % heads == 0, src, ": lru_width (", rc.lru_width,
          ") is not divisible by num_attention_heads (", heads, ")");

  AttentionConfig ac;
  ac.d_model = d;
  ac.n_heads = heads;
  ac.n_kv_heads = cfg.integer("num_key_value_heads", heads, 1);
  ac.head_dim = d / heads;
  ac.output_bias = true;
  if (cfg.has("head_dim"))
    check(cfg.integer("head_dim") == ac.head_dim, src, ": 'head_dim' (", cfg.integer("head_dim"),
          ") is not hidden_size / num_attention_heads (", ac.head_dim, ")");
  // Newer configs nest the RoPE keys in rope_parameters.
  const nlohmann::json* rope =
      cfg.has("rope_parameters") ? &cfg.json()["rope_parameters"] : nullptr;
  const auto rope_number = [&](const char* key, double fallback) {
    if (rope && rope->contains(key) && (*rope)[key].is_number()) return (*rope)[key].get<double>();
    return cfg.number(key, fallback);
  };
  ac.rope_base = rope_number("rope_theta", 10000.0);
  const double partial = rope_number("partial_rotary_factor", 0.5);
  if (has(griffin_attention)) {
    check(heads % ac.n_kv_heads == 0, src, ": num_key_value_heads (", ac.n_kv_heads,
          ") does not divide num_attention_heads (", heads, ")");
    check(partial == 0.5, src, ": 'partial_rotary_factor' ", partial,
          " is not supported (RecurrentGemma rotates the first half of each head)");
    check(ac.head_dim % 4 == 0, src, ": head_dim ", ac.head_dim,
          " must be a multiple of 4 (RoPE rotates pairs within its first half)");
  }
  ac.rotary_dims = ac.head_dim / 2;
  ac.window = cfg.integer("attention_window_size", 2048, 1) + 1;

  const index_t intermediate = cfg.integer("intermediate_size", 3 * d, 2);
  const SwiGLUConfig mc{d, intermediate / 2, GateActivation::gelu_tanh, /*bias=*/true};

  ModelOptions mo;
  mo.embedding_scale = round_to_bf16(std::sqrt(static_cast<double>(d)));
  if (cfg.has("logits_soft_cap")) {
    const double cap = cfg.number("logits_soft_cap");
    check(cap > 0.0, src, ": 'logits_soft_cap' must be > 0, got ", cap);
    mo.logit_soft_cap = static_cast<float>(cap);
  }

  const auto mat = [&](const std::string& name, index_t rows, index_t cols) {
    return st.load<W>(name, {rows, cols});
  };
  const auto vec = [&](const std::string& name, index_t n) { return st.load<float>(name, {n}); };
  auto stack = Stack::build(order, [&]<class Block>(std::type_identity<Block>, index_t b) {
    const std::string p = concat("model.layers.", b / 2, ".");
    using L = typename Block::layer_type;
    if constexpr (std::is_same_v<L, SwiGLU<B, W>>) {
      const std::string m = p + "mlp_block.";
      const index_t f = mc.d_ff;
      SwiGLUWeights<W> w{mat(m + "gate_proj.weight", f, d), mat(m + "up_proj.weight", f, d),
                         mat(m + "down_proj.weight", d, f), vec(m + "gate_proj.bias", f),
                         vec(m + "up_proj.bias", f),        vec(m + "down_proj.bias", d)};
      return Block(load_gemma_norm<B>(st, p + "channel_pre_norm.weight", d, eps),
                   L(mc, std::move(w)));
    } else {
      auto norm = load_gemma_norm<B>(st, p + "temporal_pre_norm.weight", d, eps);
      const std::string t = p + "temporal_block.";
      if constexpr (std::is_same_v<L, RGLRULayer<B, W>>) {
        const index_t w = rc.width(), H = rc.n_heads, bw = rc.block_width(), K = rc.conv_width;
        RGLRUWeights<W> rw;
        rw.in_proj = stack_rows<W>(st, {{t + "linear_y.weight", w}, {t + "linear_x.weight", w}}, d);
        rw.in_bias = stack_rows<float>(st, {{t + "linear_y.bias", w}, {t + "linear_x.bias", w}}, 0);
        rw.conv_weight = st.load<float>(t + "conv_1d.weight", {w, 1, K}).reshaped({w, K});
        rw.conv_bias = vec(t + "conv_1d.bias", w);
        rw.input_gate = st.load<float>(t + "rg_lru.input_gate_weight", {H, bw, bw});
        rw.input_gate_bias = st.load<float>(t + "rg_lru.input_gate_bias", {H, bw});
        rw.recurrent_gate = st.load<float>(t + "rg_lru.recurrent_gate_weight", {H, bw, bw});
        rw.recurrent_gate_bias = st.load<float>(t + "rg_lru.recurrent_gate_bias", {H, bw});
        rw.recurrent_param = vec(t + "rg_lru.recurrent_param", w);
        rw.out_proj = mat(t + "linear_out.weight", d, w);
        rw.out_bias = vec(t + "linear_out.bias", d);
        return Block(std::move(norm), L(rc, std::move(rw)));
      } else {
        AttentionWeights<W> w{mat(t + "q_proj.weight", ac.q_dim(), d),
                              mat(t + "k_proj.weight", ac.kv_dim(), d),
                              mat(t + "v_proj.weight", ac.kv_dim(), d),
                              mat(t + "o_proj.weight", d, ac.q_dim()), vec(t + "o_proj.bias", d)};
        return Block(std::move(norm), L(ac, std::move(w)));
      }
    }
  });
  const bool tied = cfg.boolean("tie_word_embeddings", true);
  // Tied with an lm_head.weight saved anyway: HF ties it to the embedding, so the copy is unused.
  if (tied && st.contains("lm_head.weight")) (void)mat("lm_head.weight", vocab, d);
  Model<Stack, W> model(std::move(stack), vocab, mat("model.embed_tokens.weight", vocab, d),
                        load_gemma_norm<B>(st, "model.final_norm.weight", d, eps),
                        tied ? Tensor<W>{} : mat("lm_head.weight", vocab, d), mo);
  ModelInfo info;
  info.family = "recurrent_gemma";
  constexpr std::string_view names[] = {"RG-LRU", "MLP", "RG-LRU", "MLP", "local attention", "MLP"};
  info.pattern = "Griffin " + describe_order(order, names);
  std::string dims = concat("d_model ", d, ", ", layers, " layers");
  if (has(griffin_recurrent))
    dims +=
        concat(", RG-LRU width ", rc.width(), " in ", heads, " gate blocks, conv ", rc.conv_width);
  if (has(griffin_attention))
    dims += concat(", attention ", heads, " heads x ", ac.head_dim, " (", ac.resolved_n_kv_heads(),
                   " kv), window ", ac.window, " keys, RoPE on ", ac.rotary_dims, " dims");
  info.dims = dims + concat(", MLP ", mc.d_ff, " GeGLU, vocab ", vocab, ", logits soft cap ",
                            mo.logit_soft_cap);
  info.bounded_state = true;
  return finish(std::move(model), std::move(info), st, options);
}

}  // namespace samba::detail

namespace samba {
struct RecurrentGemmaFamily {
  static constexpr std::string_view model_type = "recurrent_gemma";
  static constexpr std::string_view layout =
      "Hugging Face RecurrentGemmaForCausalLM (Google RecurrentGemma, Griffin)";
  static bool accepts(const JsonConfig&) { return true; }
  template <class B, StorageType W>
  static std::shared_ptr<const LanguageModel> load(const JsonConfig& cfg, SafeTensors& st,
                                                   const LoadOptions& options) {
    if constexpr (has_rglru_kernel<B>) {
      return detail::load_recurrent_gemma_family<B, W>(cfg, st, options);
    } else {
      detail::fail(cfg.source(),
                   ": model_type \"recurrent_gemma\" needs RG-LRU kernels, which backend ", B::name,
                   " does not have yet");
    }
  }
};
}  // namespace samba

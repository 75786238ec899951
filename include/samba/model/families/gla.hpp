// flash-linear-attention's GLAForCausalLM checkpoints (model_type "gla", fla/models/gla) →
// [GLA or attention, MLP] per layer. Registered in model/registry.hpp as GLAFamily.
//
// Layer i is two blocks: x + mixer(attn_norm(x)), then x + mlp(mlp_norm(x)). The mixer is fla's
// softmax attention at the layers the config's `attn` dict lists (sliding-window when it gives
// window_size: a Sliding GLA checkpoint), else GatedLinearAttention (fla/layers/gla.py, the
// arguments GLABlock passes: gate_fn = hidden_act, no conv bias, gate_low_rank_dim 16,
// gate_logit_normalizer 16). config.json as GLAConfig writes it, its defaults where a key is
// absent. Only backends with GLA kernels build these (has_gla_kernel: the CPU today).
#pragma once

#include <string>
#include <string_view>

#include "samba/layers/gla.hpp"
#include "samba/model/families/fla.hpp"
#include "samba/model/model.hpp"
#include "samba/stack/hybrid_stack.hpp"
#include "samba/stack/pre_norm.hpp"

namespace samba::detail {

template <class B, StorageType W>
using FlaGLAStack =
    HybridStack<PreNorm<GatedLinearAttention<B, W>>, PreNorm<SwiGLU<B, W>>,
                PreNorm<SlidingWindowAttention<B, W>>, PreNorm<CausalAttention<B, W>>>;

// The GLA mixer's config from GLAConfig's keys.
inline GLAConfig fla_gla_config(const JsonConfig& cfg, index_t d, float eps) {
  check(!cfg.has("feature_map"), cfg.source(), ": 'feature_map' \"",
        cfg.has("feature_map") ? cfg.json()["feature_map"].dump() : "",
        "\" is not supported (only GLA without a feature map)");
  GLAConfig c;
  c.d_model = d;
  c.n_heads = cfg.integer("num_heads", 4, 1);
  c.n_kv_heads = cfg.integer("num_kv_heads", c.n_heads, 1);
  const double expand_k = cfg.number("expand_k", 0.5), expand_v = cfg.number("expand_v", 1.0);
  check(expand_k > 0 && expand_v > 0, cfg.source(), ": 'expand_k' and 'expand_v' must be > 0");
  c.key_dim = static_cast<index_t>(static_cast<double>(d) * expand_k);  // Python's int()
  c.value_dim = static_cast<index_t>(static_cast<double>(d) * expand_v);
  check(c.key_dim > 0 && c.key_dim % c.n_heads == 0, cfg.source(), ": key dim ", c.key_dim,
        " (hidden_size × expand_k) is not a positive multiple of num_heads (", c.n_heads, ")");
  check(c.value_dim > 0 && c.value_dim % c.n_heads == 0, cfg.source(), ": value dim ", c.value_dim,
        " (hidden_size × expand_v) is not a positive multiple of num_heads (", c.n_heads, ")");
  check(c.n_heads % c.n_kv_heads == 0, cfg.source(), ": num_kv_heads (", c.n_kv_heads,
        ") does not divide num_heads (", c.n_heads, ")");
  c.conv_size = cfg.boolean("use_short_conv", false) ? cfg.integer("conv_size", 4, 1) : 0;
  c.output_gate = cfg.boolean("use_output_gate", true);
  if (cfg.has("clamp_min")) c.clamp_min = static_cast<float>(cfg.number("clamp_min"));
  check(c.clamp_min <= 0.0f, cfg.source(), ": 'clamp_min' must be <= 0 (a log decay)");
  c.norm_eps = eps;
  return c;
}

template <class B, StorageType W>
GatedLinearAttention<B, W> load_fla_gla(SafeTensors& st, const std::string& p, const GLAConfig& c,
                                        bool affine, bool fused_norm) {
  const index_t d = c.d_model, kd = c.resolved_key_dim(), vd = c.resolved_value_dim();
  const index_t kvk = c.kv_key_dim(), kvv = c.kv_value_dim();
  GLAWeights<W> w;
  // in_proj's rows: q, k, v, g, gk_down.
  std::vector<Tensor<W>> parts;
  parts.push_back(st.load<W>(p + "q_proj.weight", {kd, d}));
  parts.push_back(st.load<W>(p + "k_proj.weight", {kvk, d}));
  parts.push_back(st.load<W>(p + "v_proj.weight", {kvv, d}));
  if (c.output_gate) parts.push_back(st.load<W>(p + "g_proj.weight", {vd, d}));
  parts.push_back(st.load<W>(p + "gk_proj.0.weight", {c.gate_rank, d}));
  HostBuffer<W> in(c.proj_dim() * d);
  W* out = in.data();
  for (const Tensor<W>& t : parts) out = std::copy_n(t.data(), t.numel(), out);
  w.in_proj = Tensor<W>(Shape{c.proj_dim(), d}, std::move(in));
  w.gk_up = st.load<W>(p + "gk_proj.1.weight", {kvk, c.gate_rank});
  w.gk_bias = st.load<float>(p + "gk_proj.1.bias", {kvk});
  if (c.conv_size > 0) {
    const index_t k = c.conv_size, qkv = c.qkv_dim();
    HostBuffer<float> conv(qkv * k);
    float* o = conv.data();
    for (const auto& [name, rows] :
         {std::pair{"q_conv1d", kd}, {"k_conv1d", kvk}, {"v_conv1d", kvv}})
      o = std::copy_n(st.load<float>(p + name + ".weight", {rows, 1, k}).data(), rows * k, o);
    w.conv_weight = Tensor<float>(Shape{qkv, k}, std::move(conv));
    w.conv_bias = Tensor<float>(Shape{qkv}, HostBuffer<float>(qkv));  // GLABlock: no conv bias
  }
  const index_t V = c.head_v_dim();
  if (affine) {
    w.norm_weight =
        st.load<float>(p + (fused_norm ? "g_norm_swish_gate.weight" : "g_norm.weight"), {V});
  } else {
    HostBuffer<float> ones(V);
    std::fill(ones.begin(), ones.end(), 1.0f);
    w.norm_weight = Tensor<float>(Shape{V}, std::move(ones));
  }
  w.o_proj = st.load<W>(p + "o_proj.weight", {d, vd});
  return GatedLinearAttention<B, W>(c, std::move(w));
}

template <class B, StorageType W>
std::shared_ptr<const LanguageModel> load_gla_family(const JsonConfig& cfg, SafeTensors& st,
                                                     const LoadOptions& options) {
  using Stack = FlaGLAStack<B, W>;
  enum Slot : index_t { gla_slot = 0, mlp_slot = 1, swa_slot = 2, full_slot = 3 };
  const index_t d = cfg.integer("hidden_size", 2048, 1);
  const index_t n_layers = cfg.integer("num_hidden_layers", 24, 1);
  const index_t vocab = cfg.integer("vocab_size", 32000, 1);
  const auto eps = static_cast<float>(cfg.number("norm_eps", 1e-6));
  const bool tied = cfg.boolean("tie_word_embeddings", false);
  const FlaAttention attn = read_fla_attention(cfg, d, n_layers);
  const SwiGLUConfig mlp = fla_mlp_config(cfg, d);
  const bool all_attention = [&] {
    for (const bool a : attn.at)
      if (!a) return false;
    return true;
  }();
  GLAConfig gc;
  if (!all_attention) gc = fla_gla_config(cfg, d, eps);
  const bool affine = cfg.boolean("elementwise_affine", true);
  // GatedLinearAttention fuses its norm with the gate (g_norm_swish_gate) when the gate is swish,
  // fuse_norm is set and the output gate is on; otherwise the norm is g_norm.
  const bool fused_norm = cfg.boolean("fuse_norm", true) && gc.output_gate &&
                          cfg.string("hidden_act", "swish") == "swish";

  std::vector<index_t> order;
  for (const bool a : attn.at) {
    order.push_back(!a ? gla_slot : attn.config.window > 0 ? swa_slot : full_slot);
    order.push_back(mlp_slot);
  }
  auto stack = Stack::build(order, [&]<class Block>(std::type_identity<Block>, index_t b) {
    const std::string p = concat("model.layers.", b / 2, ".");
    using L = typename Block::layer_type;
    if constexpr (std::is_same_v<L, SwiGLU<B, W>>) {
      return Block(load_norm<B>(st, p + "mlp_norm.weight", d, eps),
                   load_fla_mlp<B, W>(st, p + "mlp.", mlp));
    } else if constexpr (std::is_same_v<L, GatedLinearAttention<B, W>>) {
      return Block(load_norm<B>(st, p + "attn_norm.weight", d, eps),
                   load_fla_gla<B, W>(st, p + "attn.", gc, affine, fused_norm));
    } else {
      return Block(load_norm<B>(st, p + "attn_norm.weight", d, eps),
                   load_fla_attention<L, W>(st, p + "attn.", attn.config));
    }
  });
  Model<Stack, W> model(std::move(stack), vocab, st.load<W>("model.embeddings.weight", {vocab, d}),
                        load_norm<B>(st, "model.norm.weight", d, eps),
                        tied ? Tensor<W>{} : st.load<W>("lm_head.weight", {vocab, d}));
  ModelInfo info;
  info.family = "gla";
  constexpr std::string_view names[] = {"GLA", "MLP", "SWA", "attention"};
  info.pattern = "GLA " + describe_order(order, names);
  std::string dims = concat("d_model ", d, ", ", n_layers, " layers, MLP ", mlp.d_ff);
  if (!all_attention)
    dims += concat(", GLA ", gc.n_heads, " heads (", gc.resolved_n_kv_heads(), " kv), key_dim ",
                   gc.resolved_key_dim(), ", value_dim ", gc.resolved_value_dim(),
                   gc.conv_size > 0 ? concat(", short conv ", gc.conv_size) : std::string());
  if (attn.any())
    dims += concat(
        ", attention ", attn.config.n_heads, " heads x ", attn.config.head_dim, " (",
        attn.config.resolved_n_kv_heads(), " kv)",
        attn.config.window > 0 ? concat(", window ", attn.config.window) : std::string(", full"));
  info.dims = dims + concat(", vocab ", vocab);
  info.bounded_state = !attn.any() || attn.config.window > 0;
  return finish(std::move(model), std::move(info), st, options);
}

}  // namespace samba::detail

namespace samba {
struct GLAFamily {
  static constexpr std::string_view model_type = "gla";
  static constexpr std::string_view layout =
      "flash-linear-attention GLAForCausalLM (fla-org/flash-linear-attention)";
  static bool accepts(const JsonConfig&) { return true; }
  template <class B, StorageType W>
  static std::shared_ptr<const LanguageModel> load(const JsonConfig& cfg, SafeTensors& st,
                                                   const LoadOptions& options) {
    if constexpr (has_gla_kernel<B>) {
      return detail::load_gla_family<B, W>(cfg, st, options);
    } else {
      detail::fail(cfg.source(), ": model_type \"gla\" needs GLA kernels, which backend ", B::name,
                   " does not have yet");
    }
  }
};
}  // namespace samba

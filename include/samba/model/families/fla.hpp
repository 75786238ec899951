// What flash-linear-attention's models (fla-org/flash-linear-attention, fla/models/*) share: the
// `attn` dict of their configs, which puts softmax attention (fla/layers/attn.py) at the listed
// layers, that attention's weights, and the GatedMLP with its default width.
//
// fla's attention: q, k, v, o projections without bias, head_dim = hidden_size / num_heads,
// rotate-half RoPE over the whole head (base rope_theta), flash-attn's causal window
// (window_size − 1, 0): query i sees keys i − window_size + 1 … i; no window: full causal
// attention.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "samba/layers/attention.hpp"
#include "samba/layers/swiglu.hpp"
#include "samba/model/families/common.hpp"
#include "samba/model/model.hpp"
#include "samba/stack/hybrid_stack.hpp"
#include "samba/stack/pre_norm.hpp"

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

inline FlaAttention read_fla_attention(const JsonConfig& cfg, index_t d, index_t n_layers,
                                       const std::optional<nlohmann::json>& default_attn = {}) {
  FlaAttention out;
  out.at.assign(static_cast<std::size_t>(n_layers), false);
  if (!cfg.has("attn") && !default_attn) return out;
  const nlohmann::json& a = cfg.has("attn") ? cfg.json()["attn"] : *default_attn;
  check(a.is_object(), cfg.source(), ": 'attn' must be a dict, got ", a.dump());
  const JsonConfig sub = JsonConfig::parse(a.dump(), cfg.source() + " 'attn'");
  check(sub.has("layers") && sub.json()["layers"].is_array(), cfg.source(),
        ": 'attn' must list its 'layers' (indices of the attention layers)");
  // A config's own list must name layers of the model; the config class's default list (written
  // for its default depth) applies to the layers the model has.
  const bool own = cfg.has("attn");
  for (const auto& v : sub.json()["layers"]) {
    check(v.is_number_integer() && v.get<std::int64_t>() >= 0 &&
              (!own || v.get<std::int64_t>() < n_layers),
          cfg.source(), ": 'attn' 'layers' holds ", v.dump(), ", not a layer index in [0, ",
          n_layers, ")");
    if (v.get<std::int64_t>() < n_layers) out.at[v.get<std::size_t>()] = true;
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
// hidden_size · hidden_ratio · 2/3 rounded up to a multiple of 256 (hidden_ratio's default is the
// model's: 4 for GLA, 2 for RetNet).
inline SwiGLUConfig fla_mlp_config(const JsonConfig& cfg, index_t d, index_t default_ratio,
                                   bool reads_intermediate_size = true) {
  const std::string act = cfg.string("hidden_act", "swish");
  check(act == "swish" || act == "silu", cfg.source(), ": 'hidden_act' \"", act,
        "\" is not supported (fla's GatedMLP with \"swish\")");
  if (reads_intermediate_size && cfg.has("intermediate_size"))
    return {d, cfg.integer("intermediate_size")};
  const index_t ratio = cfg.integer("hidden_ratio", default_ratio, 1);
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

// The stack of an fla model whose linear-attention layers are Mixer: per layer, the mixer or
// fla's attention (sliding-window or full), then the MLP.
template <class Mixer, class B = typename Mixer::backend_type,
          class W = typename Mixer::weight_type>
using FlaStack = HybridStack<PreNorm<Mixer>, PreNorm<SwiGLU<B, W>>,
                             PreNorm<SlidingWindowAttention<B, W>>, PreNorm<CausalAttention<B, W>>>;

// What differs between fla's models of the same layout.
struct FlaModelSpec {
  std::string family{};        // "gla", "retnet", "samba"
  std::string mixer_name{};    // in the pattern: "GLA", "RetNet", "Mamba"
  std::string pattern_name{};  // before the pattern (empty: mixer_name): "Samba"
  index_t default_hidden_ratio = 4;
  // The config class's defaults.
  index_t default_hidden_size = 2048, default_layers = 24;
  double default_norm_eps = 1e-6;
  // Tensor names: model.layers.{i}.attn_norm / .attn and model.norm (GLA, RetNet), or
  // backbone.layers.{i}.mixer_norm / .mixer and backbone.norm_f (Samba).
  std::string root = "model.", mixer = "attn", mixer_norm = "attn_norm", final_norm = "norm";
  // Whether the GatedMLP gets the config's intermediate_size (GLA, RetNet) or only hidden_ratio
  // (Samba, whose intermediate_size is the Mamba width).
  bool mlp_reads_intermediate_size = true;
  // The attn dict when the config has none (Samba's: attention at the odd layers).
  std::optional<nlohmann::json> default_attn{};
};

// An fla model in its shared layout (names for GLA and RetNet; Samba's as FlaModelSpec says):
// model.embeddings.weight; per layer i, model.layers.{i}.attn_norm.weight and attn.* (the mixer
// that load_mixer(prefix) reads, or fla's attention at the attn dict's layers), mlp_norm.weight
// and mlp.{gate,up,down}_proj.weight; model.norm.weight; lm_head.weight unless tied.
// mixer_dims(): the mixer's part of ModelInfo::dims.
template <class Mixer, class LoadMixer, class MixerDims>
std::shared_ptr<const LanguageModel> load_fla_model(const JsonConfig& cfg, SafeTensors& st,
                                                    const LoadOptions& options,
                                                    const FlaModelSpec& spec,
                                                    LoadMixer&& load_mixer,
                                                    MixerDims&& mixer_dims) {
  using B = typename Mixer::backend_type;
  using W = typename Mixer::weight_type;
  using Stack = FlaStack<Mixer>;
  enum Slot : index_t { mixer_slot = 0, mlp_slot = 1, swa_slot = 2, full_slot = 3 };
  const index_t d = cfg.integer("hidden_size", spec.default_hidden_size, 1);
  const index_t n_layers = cfg.integer("num_hidden_layers", spec.default_layers, 1);
  const index_t vocab = cfg.integer("vocab_size", 32000, 1);
  const auto eps = static_cast<float>(cfg.number("norm_eps", spec.default_norm_eps));
  const bool tied = cfg.boolean("tie_word_embeddings", false);
  const FlaAttention attn = read_fla_attention(cfg, d, n_layers, spec.default_attn);
  const SwiGLUConfig mlp =
      fla_mlp_config(cfg, d, spec.default_hidden_ratio, spec.mlp_reads_intermediate_size);

  std::vector<index_t> order;
  bool any_mixer = false;
  for (const bool a : attn.at) {
    order.push_back(!a ? mixer_slot : attn.config.window > 0 ? swa_slot : full_slot);
    order.push_back(mlp_slot);
    any_mixer = any_mixer || !a;
  }
  auto stack = Stack::build(order, [&]<class Block>(std::type_identity<Block>, index_t b) {
    const std::string p = concat(spec.root, "layers.", b / 2, ".");
    const std::string mixer = p + spec.mixer + ".", mixer_norm = p + spec.mixer_norm + ".weight";
    using L = typename Block::layer_type;
    if constexpr (std::is_same_v<L, SwiGLU<B, W>>) {
      return Block(load_norm<B>(st, p + "mlp_norm.weight", d, eps),
                   load_fla_mlp<B, W>(st, p + "mlp.", mlp));
    } else if constexpr (std::is_same_v<L, Mixer>) {
      return Block(load_norm<B>(st, mixer_norm, d, eps), load_mixer(mixer));
    } else {
      return Block(load_norm<B>(st, mixer_norm, d, eps),
                   load_fla_attention<L, W>(st, mixer, attn.config));
    }
  });
  Model<Stack, W> model(std::move(stack), vocab,
                        st.load<W>(spec.root + "embeddings.weight", {vocab, d}),
                        load_norm<B>(st, spec.root + spec.final_norm + ".weight", d, eps),
                        tied ? Tensor<W>{} : st.load<W>("lm_head.weight", {vocab, d}));
  ModelInfo info;
  info.family = spec.family;
  const std::string_view names[] = {spec.mixer_name, "MLP", "SWA", "attention"};
  info.pattern = (spec.pattern_name.empty() ? spec.mixer_name : spec.pattern_name) + " " +
                 describe_order(order, names);
  std::string dims = concat("d_model ", d, ", ", n_layers, " layers, MLP ", mlp.d_ff);
  if (any_mixer) dims += ", " + mixer_dims();
  if (attn.any())
    dims += concat(
        ", attention ", attn.config.n_heads, " heads x ", attn.config.head_dim, " (",
        attn.config.resolved_n_kv_heads(), " kv)",
        attn.config.window > 0 ? concat(", window ", attn.config.window) : std::string(", full"));
  info.dims = dims + concat(", vocab ", vocab);
  info.bounded_state = !attn.any() || attn.config.window > 0;
  return finish(std::move(model), std::move(info), st, options);
}

// The linear-attention sizes fla's GLA and RetNet configs share: key_dim = hidden_size · expand_k
// and value_dim = hidden_size · expand_v (`to_int` rounds as the layer does: int() for GLA,
// round() for RetNet), num_heads dividing both, num_kv_heads dividing num_heads.
struct FlaLinearSizes {
  index_t heads = 0, kv_heads = 0, key_dim = 0, value_dim = 0;
};
template <class ToInt>
FlaLinearSizes fla_linear_sizes(const JsonConfig& cfg, index_t d, index_t default_heads,
                                double default_k, double default_v, ToInt&& to_int) {
  check(!cfg.has("feature_map"), cfg.source(), ": 'feature_map' ",
        cfg.has("feature_map") ? cfg.json()["feature_map"].dump() : "",
        " is not supported (only layers without a feature map)");
  FlaLinearSizes s;
  s.heads = cfg.integer("num_heads", default_heads, 1);
  s.kv_heads = cfg.integer("num_kv_heads", s.heads, 1);
  const double expand_k = cfg.number("expand_k", default_k),
               expand_v = cfg.number("expand_v", default_v);
  check(expand_k > 0 && expand_v > 0, cfg.source(), ": 'expand_k' and 'expand_v' must be > 0");
  s.key_dim = to_int(static_cast<double>(d) * expand_k);
  s.value_dim = to_int(static_cast<double>(d) * expand_v);
  check(s.key_dim > 0 && s.key_dim % s.heads == 0, cfg.source(), ": key dim ", s.key_dim,
        " (hidden_size × expand_k) is not a positive multiple of num_heads (", s.heads, ")");
  check(s.value_dim > 0 && s.value_dim % s.heads == 0, cfg.source(), ": value dim ", s.value_dim,
        " (hidden_size × expand_v) is not a positive multiple of num_heads (", s.heads, ")");
  check(s.heads % s.kv_heads == 0, cfg.source(), ": num_kv_heads (", s.kv_heads,
        ") does not divide num_heads (", s.heads, ")");
  return s;
}

// The norm weight of fla's GLA and RetNet layers: g_norm_swish_gate.weight when the norm is fused
// with the gate (swish gate, fuse_norm and the output gate on), else g_norm.weight; ones when the
// config says elementwise_affine false.
inline Tensor<float> load_fla_gate_norm(const JsonConfig& cfg, SafeTensors& st,
                                        const std::string& p, index_t V, bool output_gate) {
  if (!cfg.boolean("elementwise_affine", true)) {
    HostBuffer<float> ones(V);
    std::fill(ones.begin(), ones.end(), 1.0f);
    return Tensor<float>(Shape{V}, std::move(ones));
  }
  const bool fused =
      cfg.boolean("fuse_norm", true) && output_gate && cfg.string("hidden_act", "swish") == "swish";
  return st.load<float>(p + (fused ? "g_norm_swish_gate.weight" : "g_norm.weight"), {V});
}

// The short conv's three depthwise convs ({q,k,v}_conv1d.weight [rows, 1, K]) as one [qkv, K];
// no bias (the layers' default, which the models keep).
inline std::pair<Tensor<float>, Tensor<float>> load_fla_short_conv(SafeTensors& st,
                                                                   const std::string& p, index_t q,
                                                                   index_t k, index_t v,
                                                                   index_t K) {
  HostBuffer<float> conv((q + k + v) * K);
  float* o = conv.data();
  for (const auto& [name, rows] : {std::pair{"q_conv1d", q}, {"k_conv1d", k}, {"v_conv1d", v}})
    o = std::copy_n(st.load<float>(p + name + ".weight", {rows, 1, K}).data(), rows * K, o);
  return {Tensor<float>(Shape{q + k + v, K}, std::move(conv)),
          Tensor<float>(Shape{q + k + v}, HostBuffer<float>(q + k + v))};
}

}  // namespace samba::detail

// Hugging Face Mamba2ForCausalLM checkpoints (model_type "mamba2") → presets::Mamba2. Registered in
// model/registry.hpp as Mamba2Family.
//
// The blocks are x + mixer(RMSNorm(x)) with HF's Mamba2Mixer (layers/mamba2.hpp); its gated
// RMSNorm (MambaRMSNormGated) normalises the whole inner width whatever n_groups is. config.json
// as transformers' Mamba2Config writes it, its defaults where a key is absent; "time_step_limit"
// may hold a bare Infinity, as released configs do.
//
// Only backends with Mamba-2 kernels build these blocks (has_mamba2_kernel: the CPU today); on
// another the loader says so instead of failing to compile.
#pragma once

#include <string>
#include <string_view>

#include "samba/layers/mamba2.hpp"
#include "samba/model/families/common.hpp"
#include "samba/model/model.hpp"
#include "samba/stack/presets.hpp"

namespace samba::detail {

// A Mamba-2 mixer under Hugging Face's parameter names (also Nemotron-H's).
template <class B, StorageType W>
Mamba2Layer<B, W> load_mamba2_mixer(SafeTensors& st, const std::string& prefix,
                                    const Mamba2Config& c, bool conv_bias) {
  c.validate();
  const index_t d = c.d_model, di = c.resolved_d_inner(), H = c.n_heads(), cd = c.conv_dim(),
                k = c.d_conv;
  Mamba2Weights<W> w;
  w.in_proj = st.load<W>(prefix + "in_proj.weight", {c.proj_dim(), d});
  w.conv_weight = st.load<float>(prefix + "conv1d.weight", {cd, 1, k}).reshaped({cd, k});
  w.conv_bias = conv_bias ? st.load<float>(prefix + "conv1d.bias", {cd})
                          : Tensor<float>(Shape{cd}, HostBuffer<float>(cd));
  w.dt_bias = st.load<float>(prefix + "dt_bias", {H});
  w.A_log = st.load<float>(prefix + "A_log", {H});
  w.D = st.load<float>(prefix + "D", {H});
  w.norm_weight = st.load<float>(prefix + "norm.weight", {di});
  w.out_proj = st.load<W>(prefix + "out_proj.weight", {d, di});
  return Mamba2Layer<B, W>(c, std::move(w));
}

// The time step limit [min, max] under `key` (max may be Infinity); absent: [0, ∞).
inline void read_time_step_limit(const JsonConfig& cfg, Mamba2Config& c,
                                 const std::string& key = "time_step_limit") {
  if (!cfg.has(key)) return;
  const auto& v = cfg.json()[key];
  check(v.is_array() && v.size() == 2, cfg.source(), ": '", key,
        "' must be a list [min, max], got ", v.dump());
  c.dt_min = static_cast<float>(cfg.number_or_infinity(v[0], key + "[0]"));
  c.dt_max = static_cast<float>(cfg.number_or_infinity(v[1], key + "[1]"));
  check(c.dt_min >= 0.0f && c.dt_min <= c.dt_max, cfg.source(), ": '", key, "' [", v[0].dump(),
        ", ", v[1].dump(), "] is not an interval of non-negative values");
}

// The mixer's config from a Mamba2Config-style config.json (HF's key names and defaults), the
// head count checked against the widths: num_heads · head_dim must be expand · hidden_size.
inline Mamba2Config mamba2_config(const JsonConfig& cfg, index_t d, const std::string& heads_key,
                                  index_t heads_default, const std::string& head_dim_key,
                                  index_t d_inner, float eps) {
  Mamba2Config c;
  c.d_model = d;
  c.d_inner = d_inner;
  c.d_state = cfg.integer("state_size", 128, 1);
  c.n_groups = cfg.integer("n_groups", 8, 1);
  c.head_dim = cfg.integer(head_dim_key, 64, 1);
  c.d_conv = cfg.integer("conv_kernel", 4, 1);
  c.norm_eps = eps;
  const index_t heads = cfg.integer(heads_key, heads_default, 1);
  check(heads * c.head_dim == d_inner, cfg.source(), ": '", heads_key, "' (", heads, ") × '",
        head_dim_key, "' (", c.head_dim, ") is ", heads * c.head_dim,
        ", not the mixer's inner width ", d_inner);
  check(heads % c.n_groups == 0, cfg.source(), ": 'n_groups' (", c.n_groups,
        ") does not divide the heads (", heads, ")");
  read_time_step_limit(cfg, c);
  return c;
}

template <class B, StorageType W>
std::shared_ptr<const LanguageModel> load_mamba2_family(const JsonConfig& cfg, SafeTensors& st,
                                                        const LoadOptions& options) {
  const index_t d = cfg.integer("hidden_size", 4096, 1);
  const index_t n_layers = cfg.integer("num_hidden_layers", 64, 1);
  const index_t vocab = cfg.integer("vocab_size", 32768, 1);
  check(!cfg.boolean("use_bias", false), cfg.source(),
        ": 'use_bias': true (biases on in_proj/out_proj) is not supported");
  check(cfg.string("hidden_act", "silu") == "silu", cfg.source(), ": 'hidden_act' \"",
        cfg.string("hidden_act", "silu"), "\" is not supported (Mamba-2 uses \"silu\")");
  check(cfg.boolean("rms_norm", true), cfg.source(),
        ": 'rms_norm': false (LayerNorm blocks) is not supported");
  const index_t expand = cfg.integer("expand", 2, 1);
  const auto eps = static_cast<float>(cfg.number("layer_norm_epsilon", 1e-5));
  const Mamba2Config mc = mamba2_config(cfg, d, "num_heads", 128, "head_dim", expand * d, eps);
  const bool conv_bias = cfg.boolean("use_conv_bias", true);
  const bool tied = cfg.boolean("tie_word_embeddings", false);

  using Stack = presets::Mamba2<B, W>;
  using Block = PreNorm<Mamba2Layer<B, W>>;
  auto stack = Stack::build(n_layers, [&](std::type_identity<Block>, index_t b) {
    const std::string p = concat("backbone.layers.", b, ".");
    return Block(load_norm<B>(st, p + "norm.weight", d, eps),
                 load_mamba2_mixer<B, W>(st, p + "mixer.", mc, conv_bias));
  });
  Model<Stack, W> model(std::move(stack), vocab,
                        st.load<W>("backbone.embeddings.weight", {vocab, d}),
                        load_norm<B>(st, "backbone.norm_f.weight", d, eps),
                        tied ? Tensor<W>{} : st.load<W>("lm_head.weight", {vocab, d}));
  ModelInfo info;
  info.family = "mamba2";
  constexpr std::string_view names[] = {"Mamba-2"};
  info.pattern = "Mamba2 " + describe_order(model.stack().order(), names);
  info.dims = concat("d_model ", d, ", ", n_layers, " layers, d_inner ", mc.resolved_d_inner(),
                     ", ", mc.n_heads(), " heads x ", mc.head_dim, ", ", mc.n_groups,
                     " groups, d_state ", mc.d_state, ", d_conv ", mc.d_conv, ", vocab ", vocab);
  info.bounded_state = true;
  return finish(std::move(model), std::move(info), st, options);
}

}  // namespace samba::detail

namespace samba {
struct Mamba2Family {
  static constexpr std::string_view model_type = "mamba2";
  static constexpr std::string_view layout = "Hugging Face Mamba2ForCausalLM";
  static bool accepts(const JsonConfig&) { return true; }
  template <class B, StorageType W>
  static std::shared_ptr<const LanguageModel> load(const JsonConfig& cfg, SafeTensors& st,
                                                   const LoadOptions& options) {
    if constexpr (has_mamba2_kernel<B>) {
      return detail::load_mamba2_family<B, W>(cfg, st, options);
    } else {
      detail::fail(cfg.source(), ": model_type \"mamba2\" needs Mamba-2 kernels, which backend ",
                   B::name, " does not have yet");
    }
  }
};
}  // namespace samba

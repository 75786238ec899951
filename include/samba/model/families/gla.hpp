// flash-linear-attention's GLAForCausalLM checkpoints (model_type "gla", fla/models/gla) →
// [GLA or attention, MLP] per layer, in fla's shared layout (families/fla.hpp). Registered in
// model/registry.hpp as GLAFamily.
//
// The mixer is fla's softmax attention at the layers the config's `attn` dict lists
// (sliding-window when it gives window_size: a Sliding GLA checkpoint), else
// GatedLinearAttention (fla/layers/gla.py with the arguments GLABlock passes: gate_fn =
// hidden_act, no conv bias, gate_low_rank_dim 16, gate_logit_normalizer 16). config.json as
// GLAConfig writes it, its defaults where a key is absent. Only backends with GLA kernels build
// these (has_gla_kernel: the CPU today).
#pragma once

#include <string>
#include <string_view>

#include "samba/layers/gla.hpp"
#include "samba/model/families/fla.hpp"

namespace samba::detail {

// The GLA mixer's config from GLAConfig's keys (key and value widths as Python's int()).
inline GLAConfig fla_gla_config(const JsonConfig& cfg, index_t d) {
  const FlaLinearSizes s =
      fla_linear_sizes(cfg, d, 4, 0.5, 1.0, [](double v) { return static_cast<index_t>(v); });
  GLAConfig c;
  c.d_model = d;
  c.n_heads = s.heads;
  c.n_kv_heads = s.kv_heads;
  c.key_dim = s.key_dim;
  c.value_dim = s.value_dim;
  c.conv_size = cfg.boolean("use_short_conv", false) ? cfg.integer("conv_size", 4, 1) : 0;
  c.output_gate = cfg.boolean("use_output_gate", true);
  if (cfg.has("clamp_min")) c.clamp_min = static_cast<float>(cfg.number("clamp_min"));
  check(c.clamp_min <= 0.0f, cfg.source(), ": 'clamp_min' must be <= 0 (a log decay)");
  c.norm_eps = static_cast<float>(cfg.number("norm_eps", 1e-6));
  return c;
}

template <class B, StorageType W>
GatedLinearAttention<B, W> load_fla_gla(const JsonConfig& cfg, SafeTensors& st,
                                        const std::string& p, const GLAConfig& c) {
  const index_t d = c.d_model, kvk = c.kv_key_dim();
  GLAWeights<W> w;
  std::vector<std::pair<std::string, index_t>> rows = {{p + "q_proj.weight", c.resolved_key_dim()},
                                                       {p + "k_proj.weight", kvk},
                                                       {p + "v_proj.weight", c.kv_value_dim()}};
  if (c.output_gate) rows.emplace_back(p + "g_proj.weight", c.resolved_value_dim());
  rows.emplace_back(p + "gk_proj.0.weight", c.gate_rank);
  w.in_proj = stack_rows<W>(st, rows, d);
  w.gk_up = st.load<W>(p + "gk_proj.1.weight", {kvk, c.gate_rank});
  w.gk_bias = st.load<float>(p + "gk_proj.1.bias", {kvk});
  if (c.conv_size > 0)
    std::tie(w.conv_weight, w.conv_bias) =
        load_fla_short_conv(st, p, c.resolved_key_dim(), kvk, c.kv_value_dim(), c.conv_size);
  w.norm_weight = load_fla_gate_norm(cfg, st, p, c.head_v_dim(), c.output_gate);
  w.o_proj = st.load<W>(p + "o_proj.weight", {d, c.resolved_value_dim()});
  return GatedLinearAttention<B, W>(c, std::move(w));
}

template <class B, StorageType W>
std::shared_ptr<const LanguageModel> load_gla_family(const JsonConfig& cfg, SafeTensors& st,
                                                     const LoadOptions& options) {
  const index_t d = cfg.integer("hidden_size", 2048, 1);
  const GLAConfig gc = fla_gla_config(cfg, d);
  return load_fla_model<GatedLinearAttention<B, W>>(
      cfg, st, options,
      FlaModelSpec{.family = "gla", .mixer_name = "GLA", .default_hidden_ratio = 4},
      [&](const std::string& p) { return load_fla_gla<B, W>(cfg, st, p, gc); },
      [&] {
        return concat("GLA ", gc.n_heads, " heads (", gc.resolved_n_kv_heads(), " kv), key_dim ",
                      gc.resolved_key_dim(), ", value_dim ", gc.resolved_value_dim(),
                      gc.conv_size > 0 ? concat(", short conv ", gc.conv_size) : std::string());
      });
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

// flash-linear-attention's RetNetForCausalLM checkpoints (model_type "retnet", fla/models/retnet)
// → [RetNet or attention, MLP] per layer, in fla's shared layout (families/fla.hpp). Registered
// in model/registry.hpp as RetNetFamily.
//
// The mixer is fla's softmax attention at the layers of the config's `attn` dict (sliding-window
// with window_size: a Sliding RetNet checkpoint), else MultiScaleRetention
// (fla/layers/multiscale_retention.py with the arguments RetNetBlock passes: gate_fn =
// hidden_act; RetNetBlock passes no use_short_conv, so the model has none whatever the config
// says). config.json as RetNetConfig writes it, its defaults where a key is absent. Only backends
// with retention kernels build these (has_retention_kernel: the CPU today).
#pragma once

#include <cmath>
#include <string>
#include <string_view>

#include "samba/layers/retention.hpp"
#include "samba/model/families/fla.hpp"

namespace samba::detail {

// The retention mixer's config from RetNetConfig's keys (widths as Python's round(), which the
// layer asserts to be whole).
inline RetentionConfig fla_retention_config(const JsonConfig& cfg, index_t d) {
  const FlaLinearSizes s = fla_linear_sizes(cfg, d, 8, 1.0, 2.0, [&](double v) {
    const double r = std::nearbyint(v);
    check(std::abs(v - r) <= 1e-9 * std::max(1.0, std::abs(v)), cfg.source(),
          ": hidden_size × expand_k and × expand_v must be whole numbers, got ", v);
    return static_cast<index_t>(r);
  });
  RetentionConfig c;
  c.d_model = d;
  c.n_heads = s.heads;
  c.n_kv_heads = s.kv_heads;
  c.key_dim = s.key_dim;
  c.value_dim = s.value_dim;
  check((s.key_dim / s.heads) % 2 == 0, cfg.source(), ": the heads' key width (",
        s.key_dim / s.heads, ") must be even (RoPE turns pairs of dims)");
  c.output_gate = cfg.boolean("use_output_gate", true);
  c.norm_eps = static_cast<float>(cfg.number("norm_eps", 1e-6));
  return c;
}

template <class B, StorageType W>
MultiScaleRetention<B, W> load_fla_retention(const JsonConfig& cfg, SafeTensors& st,
                                             const std::string& p, const RetentionConfig& c) {
  const index_t d = c.d_model;
  RetentionWeights<W> w;
  std::vector<std::pair<std::string, index_t>> rows = {{p + "q_proj.weight", c.resolved_key_dim()},
                                                       {p + "k_proj.weight", c.kv_key_dim()},
                                                       {p + "v_proj.weight", c.kv_value_dim()}};
  if (c.output_gate) rows.emplace_back(p + "g_proj.weight", c.resolved_value_dim());
  w.in_proj = stack_rows<W>(st, rows, d);
  w.norm_weight = load_fla_gate_norm(cfg, st, p, c.head_v_dim(), c.output_gate);
  w.o_proj = st.load<W>(p + "o_proj.weight", {d, c.resolved_value_dim()});
  return MultiScaleRetention<B, W>(c, std::move(w));
}

template <class B, StorageType W>
std::shared_ptr<const LanguageModel> load_retnet_family(const JsonConfig& cfg, SafeTensors& st,
                                                        const LoadOptions& options) {
  const index_t d = cfg.integer("hidden_size", 2048, 1);
  const RetentionConfig rc = fla_retention_config(cfg, d);
  return load_fla_model<MultiScaleRetention<B, W>>(
      cfg, st, options,
      FlaModelSpec{.family = "retnet", .mixer_name = "RetNet", .default_hidden_ratio = 2},
      [&](const std::string& p) { return load_fla_retention<B, W>(cfg, st, p, rc); },
      [&] {
        return concat("retention ", rc.n_heads, " heads (", rc.resolved_n_kv_heads(),
                      " kv), key_dim ", rc.resolved_key_dim(), ", value_dim ",
                      rc.resolved_value_dim());
      });
}

}  // namespace samba::detail

namespace samba {
struct RetNetFamily {
  static constexpr std::string_view model_type = "retnet";
  static constexpr std::string_view layout =
      "flash-linear-attention RetNetForCausalLM (fla-org/flash-linear-attention)";
  static bool accepts(const JsonConfig&) { return true; }
  template <class B, StorageType W>
  static std::shared_ptr<const LanguageModel> load(const JsonConfig& cfg, SafeTensors& st,
                                                   const LoadOptions& options) {
    if constexpr (has_retention_kernel<B>) {
      return detail::load_retnet_family<B, W>(cfg, st, options);
    } else {
      detail::fail(cfg.source(), ": model_type \"retnet\" needs retention kernels, which backend ",
                   B::name, " does not have yet");
    }
  }
};
}  // namespace samba

// flash-linear-attention's SambaForCausalLM checkpoints (model_type "samba" in fla's layout:
// fla/models/samba, the models fla-org/flame trains from configs such as samba_1B.json) → per
// layer [Mamba or sliding-window attention, MLP]. Registered in model/registry.hpp as
// FlaSambaFamily, after the lit-gpt layout of the same model_type: fla's configs say hidden_size
// and num_hidden_layers where lit-gpt's say n_embd and n_layer.
//
// Layer i: x + mixer(mixer_norm(x)), then x + mlp(mlp_norm(x)). The mixer is fla's attention at
// the layers of the `attn` dict (SambaConfig's default when the config has none: the odd layers
// 1 … 17, 18 heads, window 2048), else fla's Mamba layer (HF MambaMixer's names, conv bias, SiLU).
// The GatedMLP's width comes from hidden_ratio alone: SambaBlock does not pass intermediate_size,
// which is the Mamba width (expand · hidden_size).
#pragma once

#include <string>
#include <string_view>

#include "samba/layers/mamba.hpp"
#include "samba/model/families/fla.hpp"

namespace samba::detail {

template <class B, StorageType W>
std::shared_ptr<const LanguageModel> load_fla_samba_family(const JsonConfig& cfg, SafeTensors& st,
                                                           const LoadOptions& options) {
  const index_t d = cfg.integer("hidden_size", 2304, 1);
  MambaConfig mc;
  mc.d_model = d;
  mc.d_state = cfg.integer("state_size", 16, 1);
  mc.d_conv = cfg.integer("conv_kernel", 4, 1);
  mc.expand = cfg.integer("expand", 2, 1);
  if (cfg.has("intermediate_size"))
    check(cfg.integer("intermediate_size") == mc.d_inner(), cfg.source(), ": 'intermediate_size' (",
          cfg.integer("intermediate_size"), ") is not expand × hidden_size (", mc.d_inner(), ")");
  mc.dt_rank = 0;
  if (cfg.has("time_step_rank")) {
    const auto& v = cfg.json()["time_step_rank"];
    if (v.is_string())
      check(v.get<std::string>() == "auto", cfg.source(),
            ": 'time_step_rank' must be an integer or \"auto\", got ", v.dump());
    else
      mc.dt_rank = cfg.integer("time_step_rank");
  }
  check(!cfg.boolean("use_bias", false), cfg.source(),
        ": 'use_bias': true (biases on in_proj/out_proj) is not supported");
  const bool conv_bias = cfg.boolean("use_conv_bias", true);
  mc.validate();

  const FlaModelSpec spec{
      .family = "samba",
      .mixer_name = "Mamba",
      .pattern_name = "Samba",
      .default_hidden_ratio = 4,
      .default_hidden_size = 2304,
      .default_layers = 18,
      .default_norm_eps = 1e-5,
      .root = "backbone.",
      .mixer = "mixer",
      .mixer_norm = "mixer_norm",
      .final_norm = "norm_f",
      .mlp_reads_intermediate_size = false,
      .default_attn = nlohmann::json{{"layers", {1, 3, 5, 7, 9, 11, 13, 15, 17}},
                                     {"num_heads", 18},
                                     {"num_kv_heads", 18},
                                     {"qkv_bias", false},
                                     {"window_size", 2048},
                                     {"rope_theta", 10000.0}}};
  return load_fla_model<MambaLayer<B, W>>(
      cfg, st, options, spec,
      [&](const std::string& p) { return load_mamba_mixer<B, W>(st, p, mc, conv_bias); },
      [&] {
        return concat("Mamba d_inner ", mc.d_inner(), ", d_state ", mc.d_state, ", dt_rank ",
                      mc.resolved_dt_rank());
      });
}

}  // namespace samba::detail

namespace samba {
struct FlaSambaFamily {
  static constexpr std::string_view model_type = "samba";
  static constexpr std::string_view layout =
      "flash-linear-attention SambaForCausalLM (fla-org/flash-linear-attention, hidden_size keys)";
  static bool accepts(const JsonConfig& cfg) { return !cfg.has("n_embd"); }
  template <class B, StorageType W>
  static std::shared_ptr<const LanguageModel> load(const JsonConfig& cfg, SafeTensors& st,
                                                   const LoadOptions& options) {
    return detail::load_fla_samba_family<B, W>(cfg, st, options);
  }
};
}  // namespace samba

// Hugging Face MambaForCausalLM checkpoints (model_type "mamba") → presets::MambaOnly.
// Registered in model/registry.hpp as MambaFamily.
#pragma once

#include "samba/model/families/common.hpp"
#include "samba/model/model.hpp"
#include "samba/stack/presets.hpp"

namespace samba::detail {

template <class B, StorageType W>
std::shared_ptr<const LanguageModel> load_mamba_family(const JsonConfig& cfg, SafeTensors& st,
                                                       const LoadOptions& options) {
  const index_t d = cfg.integer("hidden_size");
  const index_t n_layers = cfg.integer("num_hidden_layers");
  const index_t vocab = cfg.integer("vocab_size");
  MambaConfig mc;
  mc.d_model = d;
  mc.d_state = cfg.integer("state_size", 16, 1);
  mc.expand = cfg.integer("expand", 2, 1);
  mc.d_conv = cfg.integer("conv_kernel", 4, 1);
  mc.dt_rank = 0;
  if (cfg.has("time_step_rank")) {
    const auto& v = cfg.json()["time_step_rank"];
    if (v.is_string()) {
      check(v.get<std::string>() == "auto", cfg.source(),
            ": 'time_step_rank' must be an integer or \"auto\", got ", v.dump());
    } else {
      mc.dt_rank = cfg.integer("time_step_rank");
    }
  }
  check(!cfg.boolean("use_bias", false), cfg.source(),
        ": 'use_bias': true (biases on in_proj/out_proj) is not supported");
  const bool conv_bias = cfg.boolean("use_conv_bias", true);
  const auto eps = static_cast<float>(cfg.number("layer_norm_epsilon", 1e-5));
  const bool tied = cfg.boolean("tie_word_embeddings", true);

  using Stack = presets::MambaOnly<B, W>;
  using Block = PreNorm<MambaLayer<B, W>>;
  auto stack = Stack::build(n_layers, [&](std::type_identity<Block>, index_t b) {
    const std::string p = concat("backbone.layers.", b, ".");
    return Block(load_norm<B>(st, p + "norm.weight", d, eps),
                 load_mamba_mixer<B, W>(st, p + "mixer.", mc, conv_bias));
  });
  Model<Stack, W> model(std::move(stack), vocab,
                        st.load<W>("backbone.embeddings.weight", {vocab, d}),
                        load_norm<B>(st, "backbone.norm_f.weight", d, eps),
                        tied ? Tensor<W>{} : st.load<W>("lm_head.weight", {vocab, d}));
  ModelInfo info;
  info.family = "mamba";
  constexpr std::string_view names[] = {"Mamba"};
  info.pattern = "MambaOnly " + describe_order(model.stack().order(), names);
  info.dims = concat("d_model ", d, ", ", n_layers, " layers, d_inner ", mc.d_inner(), ", d_state ",
                     mc.d_state, ", d_conv ", mc.d_conv, ", dt_rank ", mc.resolved_dt_rank(),
                     ", vocab ", vocab);
  info.bounded_state = true;
  return finish(std::move(model), std::move(info), st, options);
}

}  // namespace samba::detail

namespace samba {
struct MambaFamily {
  static constexpr std::string_view model_type = "mamba";
  static constexpr std::string_view layout = "Hugging Face MambaForCausalLM";
  static bool accepts(const JsonConfig&) { return true; }
  template <class B, StorageType W>
  static std::shared_ptr<const LanguageModel> load(const JsonConfig& cfg, SafeTensors& st,
                                                   const LoadOptions& options) {
    return detail::load_mamba_family<B, W>(cfg, st, options);
  }
};
}  // namespace samba

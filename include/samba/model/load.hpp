// load_model: a LanguageModel from a directory with config.json and safetensors weights, the
// family chosen by config.json's model_type ("mamba", "llama", "mistral", "samba").
#pragma once

#include <filesystem>
#include <memory>

#include "samba/model/families/llama.hpp"
#include "samba/model/families/mamba.hpp"
#include "samba/model/families/samba.hpp"

namespace samba {

namespace detail {

// config.json's model_type, checked to be one samba reads.
inline std::string model_family(const JsonConfig& cfg) {
  std::string family = cfg.string("model_type");
  check(family == "mamba" || family == "llama" || family == "mistral" || family == "samba",
        cfg.source(), ": model_type \"", family,
        "\" is not supported (samba reads mamba, llama, mistral, samba)");
  return family;
}

}  // namespace detail

// The model that `cfg` describes, its weights taken from `st` (load_model(dir) without the files),
// on backend B (samba::cpu by default; load_model<samba::cuda>(dir) with samba/cuda.cuh).
template <class B = cpu>
std::shared_ptr<const LanguageModel> load_model(const JsonConfig& cfg, SafeTensors& st,
                                                const LoadOptions& options = {}) {
  const std::string family = detail::model_family(cfg);
  const dtype w = options.weight_dtype.value_or(st.dominant_dtype());
  return detail::with_storage_type(w, [&]<StorageType W>() -> std::shared_ptr<const LanguageModel> {
    if (family == "mamba") return detail::load_mamba_family<B, W>(cfg, st, options);
    if (family == "samba") return detail::load_samba_family<B, W>(cfg, st, options);
    return detail::load_llama_family<B, W>(cfg, st, options, family);
  });
}

template <class B = cpu>
std::shared_ptr<const LanguageModel> load_model(const std::filesystem::path& dir,
                                                const LoadOptions& options = {}) {
  detail::check(std::filesystem::is_directory(dir), dir.string(),
                ": not a model directory (expected config.json and safetensors weights)");
  const JsonConfig cfg = JsonConfig::read(dir / "config.json");
  detail::model_family(cfg);  // an unsupported family is reported before the weights are read
  SafeTensors st = SafeTensors::open(dir);
  return load_model<B>(cfg, st, options);
}

}  // namespace samba

// load_model: a LanguageModel from a directory with config.json and safetensors weights, the
// family chosen from config.json (model_type, and its layout where two share one) by the table of
// model/registry.hpp.
#pragma once

#include <filesystem>
#include <memory>

#include "samba/model/registry.hpp"

namespace samba {

// The model that `cfg` describes, its weights taken from `st` (load_model(dir) without the files),
// on backend B (samba::cpu by default; load_model<samba::cuda>(dir) with samba/cuda.cuh).
template <class B = cpu>
std::shared_ptr<const LanguageModel> load_model(const JsonConfig& cfg, SafeTensors& st,
                                                const LoadOptions& options = {}) {
  return detail::with_family(cfg, [&]<class Family>(std::type_identity<Family>) {
    const dtype w = options.weight_dtype.value_or(st.dominant_dtype());
    return detail::with_storage_type(w,
                                     [&]<StorageType W>() -> std::shared_ptr<const LanguageModel> {
                                       return Family::template load<B, W>(cfg, st, options);
                                     });
  });
}

template <class B = cpu>
std::shared_ptr<const LanguageModel> load_model(const std::filesystem::path& dir,
                                                const LoadOptions& options = {}) {
  detail::check(std::filesystem::is_directory(dir), dir.string(),
                ": not a model directory (expected config.json and safetensors weights)");
  const JsonConfig cfg = JsonConfig::read(dir / "config.json");
  // An unsupported family is reported before the weights are read.
  (void)family_of(cfg);
  SafeTensors st = SafeTensors::open(dir);
  return load_model<B>(cfg, st, options);
}

// Compile time: load_model<cpu> instantiates every family's loader for every weight type, close to
// a minute of compiling in each file that calls it. A project that calls it from several files can
// compile it once: define SAMBA_EXTERN_LOAD_MODEL for all of them (e.g. with CMake's
// target_compile_definitions), and include samba/model/load_instance.hpp in exactly one of them.
#ifdef SAMBA_EXTERN_LOAD_MODEL
extern template std::shared_ptr<const LanguageModel> load_model<cpu>(const JsonConfig&,
                                                                     SafeTensors&,
                                                                     const LoadOptions&);
extern template std::shared_ptr<const LanguageModel> load_model<cpu>(const std::filesystem::path&,
                                                                     const LoadOptions&);
#endif

}  // namespace samba

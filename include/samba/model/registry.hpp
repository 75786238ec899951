// The checkpoint families samba reads: one table, read by load_model, `samba-cli info`, the fuzz
// harness and the error that lists what is supported.
//
// A family is a type with
//   model_type   config.json's "model_type" it reads
//   layout       what it reads, in words ("Hugging Face MambaForCausalLM")
//   accepts(cfg) whether a config of that model_type is in this layout (two layouts may share a
//                model_type: the first family in the table that accepts the config loads it)
//   load<B, W>(cfg, st, options)  the model on backend B with weight storage type W
// Adding a family is its file under model/families/ and one entry in Families below.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "samba/model/families/fla_samba.hpp"
#include "samba/model/families/gla.hpp"
#include "samba/model/families/llama.hpp"
#include "samba/model/families/mamba.hpp"
#include "samba/model/families/mamba2.hpp"
#include "samba/model/families/nemotron_h.hpp"
#include "samba/model/families/phi4flash.hpp"
#include "samba/model/families/recurrent_gemma.hpp"
#include "samba/model/families/retnet.hpp"
#include "samba/model/families/samba.hpp"

namespace samba {

template <class... F>
struct FamilyList {};
namespace detail {
template <class First, class... Rest>
First first_family(FamilyList<First, Rest...>);  // unevaluated: the table's first family
}  // namespace detail

using Families =
    FamilyList<MambaFamily, Mamba2Family, LlamaFamily, MistralFamily, SambaFamily, FlaSambaFamily,
               GLAFamily, RetNetFamily, NemotronHFamily, RecurrentGemmaFamily, Phi4FlashFamily>;

struct FamilyInfo {
  std::string_view model_type;
  std::string_view layout;
};

// Every registered family, in table order.
inline std::vector<FamilyInfo> supported_families() {
  return []<class... F>(FamilyList<F...>) {
    return std::vector<FamilyInfo>{{F::model_type, F::layout}...};
  }(Families{});
}

// "mamba, llama, mistral, samba": each model_type once.
inline std::string supported_model_types() {
  std::string out;
  std::vector<std::string_view> seen;
  for (const FamilyInfo& f : supported_families()) {
    if (std::find(seen.begin(), seen.end(), f.model_type) != seen.end()) continue;
    seen.push_back(f.model_type);
    out += detail::concat(out.empty() ? "" : ", ", f.model_type);
  }
  return out;
}

namespace detail {

// Calls f(std::type_identity<Family>{}) for the family that reads cfg; an unknown model_type, or a
// config in none of its model_type's layouts, is an error naming what is supported.
template <class F>
decltype(auto) with_family(const JsonConfig& cfg, F&& f) {
  const std::string type = cfg.string("model_type");
  bool known = false;
  std::string layouts;
  const auto found = [&]<class... Fam>(FamilyList<Fam...>) {
    int index = -1, i = 0;
    (
        [&] {
          if (index < 0 && Fam::model_type == type) {
            known = true;
            layouts += concat(layouts.empty() ? "" : "; ", Fam::layout);
            if (Fam::accepts(cfg)) index = i;
          }
          ++i;
        }(),
        ...);
    return index;
  }(Families{});
  check(known, cfg.source(), ": model_type \"", type, "\" is not supported (samba reads ",
        supported_model_types(), ")");
  check(found >= 0, cfg.source(), ": model_type \"", type,
        "\": the config is in none of the layouts samba reads for it (", layouts, ")");
  using Result = decltype(f(std::type_identity<decltype(first_family(Families{}))>{}));
  return [&]<class... Fam>(FamilyList<Fam...>) -> Result {
    int i = 0;
    std::optional<Result> out;
    (void)((i++ == found ? (out.emplace(f(std::type_identity<Fam>{})), true) : false) || ...);
    return std::move(*out);
  }(Families{});
}

}  // namespace detail

// The family that reads cfg (see with_family for the errors).
inline FamilyInfo family_of(const JsonConfig& cfg) {
  return detail::with_family(cfg, []<class Family>(std::type_identity<Family>) {
    return FamilyInfo{Family::model_type, Family::layout};
  });
}

}  // namespace samba

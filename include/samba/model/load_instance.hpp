// The one compiled copy of load_model<cpu> for a project that defines SAMBA_EXTERN_LOAD_MODEL
// (model/load.hpp): include this header in exactly one of its files. Without that definition the
// header is harmless but useless (every file compiles its own copy anyway).
#pragma once

#include "samba/samba.hpp"

namespace samba {

template std::shared_ptr<const LanguageModel> load_model<cpu>(const JsonConfig&, SafeTensors&,
                                                              const LoadOptions&);
template std::shared_ptr<const LanguageModel> load_model<cpu>(const std::filesystem::path&,
                                                              const LoadOptions&);

}  // namespace samba

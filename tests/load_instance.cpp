// samba_tests compiles load_model<cpu> once, here: every test file sees it as an extern template
// (SAMBA_EXTERN_LOAD_MODEL, tests/CMakeLists.txt), which saves about a minute of compiling per
// file that loads a checkpoint.
#include <samba/model/load_instance.hpp>

// samba::error — the one exception type of the library.
//
// Every check that can fail on user input (a shape, a size, a dtype, a state used with the wrong
// layer) throws samba::error with a message that names the layer, the tensor and what was expected.
#pragma once

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace samba {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

// Concatenates streamable pieces into a string: concat("layer ", 3, ".") == "layer 3.".
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// Throws a message built from streamable pieces: fail("MambaLayer: d_state must be > 0, got ", n).
template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw error(concat(args...));
}

template <class... Args>
void check(bool ok, const Args&... args) {
  if (!ok) fail(args...);
}

}  // namespace detail
}  // namespace samba

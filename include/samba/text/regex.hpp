// The regular expressions of tokenizer.json (Split pre-tokenizers, Replace normalizers and
// decoders), run by Oniguruma: the engine Hugging Face's tokenizers crate compiles them with, in
// its default syntax, on UTF-8. A pattern is compiled once; searching shares it between threads.
#pragma once

#include <oniguruma.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "../core/error.hpp"
#include "utf8.hpp"

namespace samba::text {

class Regex {
 public:
  // `what` names the pattern in errors ("pre_tokenizer.pretokenizers[0].pattern.Regex").
  Regex(std::string_view pattern, std::string_view what) : pattern_(pattern) {
    initialise_once();
    OnigErrorInfo info{};
    OnigRegex compiled = nullptr;
    const auto* p = reinterpret_cast<const OnigUChar*>(pattern_.data());
    const int rc = onig_new(&compiled, p, p + pattern_.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                            ONIG_SYNTAX_DEFAULT, &info);
    if (rc != ONIG_NORMAL) {
      OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
      onig_error_code_to_str(message, rc, &info);
      detail::fail("tokenizer: ", what, ": the regular expression /", pattern_,
                   "/ does not compile: ", reinterpret_cast<const char*>(message));
    }
    regex_.reset(compiled);
  }

  const std::string& pattern() const { return pattern_; }

  // Calls f(begin, end) with the byte offsets of each match in s, left to right, not overlapping:
  // the matches of the crate's find_iter. An empty match right where the previous match ended is
  // skipped (the search moves one character on), so patterns that can match nothing terminate.
  template <class F>
  void for_each_match(std::string_view s, F&& f) const {
    OnigRegion* region = thread_region();
    const auto* str = reinterpret_cast<const OnigUChar*>(s.data());
    const OnigUChar* end = str + s.size();
    std::size_t from = 0, last_end = std::string_view::npos;
    while (from <= s.size()) {
      const int rc = onig_search(regex_.get(), str, end, str + from, end, region, ONIG_OPTION_NONE);
      if (rc == ONIG_MISMATCH) return;
      if (rc < 0)
        detail::fail("tokenizer: searching with /", pattern_, "/ failed (Oniguruma ", rc, ")");
      const auto b = static_cast<std::size_t>(region->beg[0]);
      const auto e = static_cast<std::size_t>(region->end[0]);
      if (b == e && e == last_end) {
        if (from >= s.size()) return;
        from += decode_utf8(s, from).bytes;
        continue;
      }
      f(b, e);
      last_end = e;
      from = e;
    }
  }

 private:
  struct FreeRegex {
    void operator()(OnigRegex r) const { onig_free(r); }
  };
  struct FreeRegion {
    void operator()(OnigRegion* r) const { onig_region_free(r, 1); }
  };

  static void initialise_once() {
    static const bool done = [] {
      OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
      onig_initialize(encodings, 1);
      return true;
    }();
    (void)done;
  }

  // A region holds one search's match offsets: one per thread, so that a compiled pattern is
  // searched from any number of threads at once.
  static OnigRegion* thread_region() {
    thread_local const std::unique_ptr<OnigRegion, FreeRegion> region(onig_region_new());
    return region.get();
  }

  std::string pattern_;
  std::unique_ptr<std::remove_pointer_t<OnigRegex>, FreeRegex> regex_;
};

}  // namespace samba::text

// The stages of a Hugging Face tokenizer around its model, built from tokenizer.json:
//
//   normalizer      text → text          NFC, NFD, NFKC, NFKD, Prepend, Replace, Strip, Sequence
//   pre_tokenizer   text → pieces        ByteLevel, Split, Metaspace, Digits, Sequence
//   post_processor  ids → ids            TemplateProcessing, ByteLevel, Sequence
//   decoder         tokens → text        ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace,
//                                        Sequence
//
// each as the tokenizers crate defines it. A type that is not listed is an error that names it.
// Text is UTF-8 throughout; the decoders produce bytes, made well-formed (or held back, when a
// stream ends inside a character) by the caller.
#pragma once

#include <utf8proc.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "bpe.hpp"
#include "regex.hpp"
#include "utf8.hpp"

namespace samba::text {

namespace pipeline_detail {

using detail::check;
using detail::fail;
using nlohmann::json;

inline const json& field(const json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  check(it != j.end(), "tokenizer: ", where, " has no \"", key, "\"");
  return *it;
}
inline std::string string_field(const json& j, const char* key, const std::string& where,
                                std::optional<std::string> fallback = std::nullopt) {
  const auto it = j.find(key);
  if ((it == j.end() || it->is_null()) && fallback) return *fallback;
  check(it != j.end() && it->is_string(), "tokenizer: ", where, ".", key, " must be a string");
  return it->get<std::string>();
}
inline bool bool_field(const json& j, const char* key, const std::string& where, bool fallback) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  check(it->is_boolean(), "tokenizer: ", where, ".", key, " must be true or false");
  return it->get<bool>();
}
inline std::string type_of(const json& j, const std::string& where) {
  check(j.is_object(), "tokenizer: ", where, " must be an object or null");
  return string_field(j, "type", where);
}

// A pattern: a literal string or a regular expression ({"String": …} / {"Regex": …}).
class Pattern {
 public:
  // A literal string.
  explicit Pattern(std::string literal) : literal_(std::move(literal)) {}
  Pattern(const json& j, const std::string& where) {
    check(j.is_object(), "tokenizer: ", where, " must be {\"String\": …} or {\"Regex\": …}");
    if (const auto it = j.find("String"); it != j.end() && it->is_string()) {
      literal_ = it->get<std::string>();
    } else if (const auto r = j.find("Regex"); r != j.end() && r->is_string()) {
      regex_ = std::make_shared<const Regex>(r->get<std::string>(), where + ".Regex");
    } else {
      fail("tokenizer: ", where, " must be {\"String\": …} or {\"Regex\": …}, got ", j.dump());
    }
  }

  // Calls f(begin, end) for each match in s, left to right.
  template <class F>
  void for_each_match(std::string_view s, F&& f) const {
    if (regex_) return regex_->for_each_match(s, f);
    if (literal_.empty()) return;
    for (std::size_t at = s.find(literal_); at != std::string_view::npos;
         at = s.find(literal_, at + literal_.size()))
      f(at, at + literal_.size());
  }

  std::string replace_all(std::string_view s, std::string_view content) const {
    std::string out;
    std::size_t last = 0;
    for_each_match(s, [&](std::size_t b, std::size_t e) {
      out.append(s.substr(last, b - last));
      out.append(content);
      last = e;
    });
    out.append(s.substr(last));
    return out;
  }

 private:
  std::string literal_;
  std::shared_ptr<const Regex> regex_;
};

// s without up to `start` leading and `stop` trailing copies of the character c.
inline std::string strip_chars(std::string_view s, std::string_view c, std::size_t start,
                               std::size_t stop) {
  if (c.empty()) return std::string(s);
  for (std::size_t i = 0; i < start && s.starts_with(c); ++i) s.remove_prefix(c.size());
  for (std::size_t i = 0; i < stop && s.ends_with(c); ++i) s.remove_suffix(c.size());
  return std::string(s);
}

// The stages a Sequence lists under `key`, each made by make(item, its place in the file); null
// entries (make returns nullptr) are left out.
template <class Stage, class Make>
std::vector<std::unique_ptr<Stage>> make_stages(const json& j, const char* key,
                                                const std::string& where, const Make& make) {
  const json& list = field(j, key, where);
  check(list.is_array(), "tokenizer: ", where, ".", key, " must be an array");
  std::vector<std::unique_ptr<Stage>> stages;
  for (std::size_t i = 0; i < list.size(); ++i)
    if (auto stage = make(list[i], where + "." + key + "[" + std::to_string(i) + "]"))
      stages.push_back(std::move(stage));
  return stages;
}

}  // namespace pipeline_detail

// --- normalizers ---------------------------------------------------------------------------------

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual std::string normalize(std::string s) const = 0;
};

namespace pipeline_detail {

class UnicodeForm final : public Normalizer {
 public:
  UnicodeForm(std::string name, int options) : name_(std::move(name)), options_(options) {}
  std::string normalize(std::string s) const override {
    if (s.empty()) return s;
    utf8proc_uint8_t* out = nullptr;
    const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                static_cast<utf8proc_ssize_t>(s.size()), &out,
                                static_cast<utf8proc_option_t>(options_));
    check(n >= 0, "tokenizer: ", name_, " normalization failed: ", utf8proc_errmsg(n));
    std::string r(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
    std::free(out);
    return r;
  }

 private:
  std::string name_;
  int options_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string p) : prepend_(std::move(p)) {}
  std::string normalize(std::string s) const override { return s.empty() ? s : prepend_ + s; }

 private:
  std::string prepend_;
};

class Replace final : public Normalizer {
 public:
  Replace(Pattern p, std::string content) : pattern_(std::move(p)), content_(std::move(content)) {}
  std::string normalize(std::string s) const override { return pattern_.replace_all(s, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

// Unicode White_Space off the left and/or right end.
class StripSpace final : public Normalizer {
 public:
  StripSpace(bool left, bool right) : left_(left), right_(right) {}
  std::string normalize(std::string s) const override {
    std::size_t b = 0, e = s.size();
    if (left_)
      while (b < e) {
        const Decoded d = decode_utf8(s, b);
        if (!is_whitespace(d.c)) break;
        b += d.bytes;
      }
    if (right_)
      while (e > b) {
        std::size_t k = e - 1;
        while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
        if (!is_whitespace(decode_utf8(s, k).c)) break;
        e = k;
      }
    return s.substr(b, e - b);
  }

 private:
  bool left_, right_;
};

class NormalizerSequence final : public Normalizer {
 public:
  explicit NormalizerSequence(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  std::string normalize(std::string s) const override {
    for (const auto& p : parts_) s = p->normalize(std::move(s));
    return s;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace pipeline_detail

// nullptr for a null normalizer.
inline std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j,
                                                   const std::string& where = "normalizer") {
  using namespace pipeline_detail;
  if (j.is_null()) return nullptr;
  const std::string type = type_of(j, where);
  if (type == "NFC") return std::make_unique<UnicodeForm>(type, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  if (type == "NFD")
    return std::make_unique<UnicodeForm>(type, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  if (type == "NFKC")
    return std::make_unique<UnicodeForm>(type,
                                         UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  if (type == "NFKD")
    return std::make_unique<UnicodeForm>(type,
                                         UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
  if (type == "Prepend") return std::make_unique<Prepend>(string_field(j, "prepend", where));
  if (type == "Replace")
    return std::make_unique<Replace>(Pattern(field(j, "pattern", where), where + ".pattern"),
                                     string_field(j, "content", where, ""));
  if (type == "Strip")
    return std::make_unique<StripSpace>(bool_field(j, "strip_left", where, true),
                                        bool_field(j, "strip_right", where, true));
  if (type == "Sequence")
    return std::make_unique<NormalizerSequence>(make_stages<Normalizer>(
        j, "normalizers", where,
        [](const json& item, const std::string& at) { return make_normalizer(item, at); }));
  fail("tokenizer: ", where, ": normalizer type \"", type,
       "\" is not supported (NFC, NFD, NFKC, NFKD, Prepend, Replace, Strip and Sequence are)");
}

// --- pre-tokenizers ------------------------------------------------------------------------------

// One piece of pre-tokenized text; `at_start`: it begins where the input began (Metaspace's
// prepend_scheme "first").
struct Piece {
  std::string text;
  bool at_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void split(std::vector<Piece>& pieces) const = 0;
};

namespace pipeline_detail {

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

// Splits s at the matches of p, as the crate's NormalizedString::split does with `behavior`: the
// text alternates between matches and the stretches between them (`invert` swaps the two), and
// Removed drops the matches, Isolated keeps each part, MergedWithPrevious / MergedWithNext glue a
// match to the stretch before / after it, Contiguous joins runs of matches. Empty parts vanish.
template <class Pattern_>
void split_by(const Pattern_& p, const Piece& piece, SplitBehavior behavior, bool invert,
              std::vector<Piece>& out) {
  struct Part {
    std::size_t b, e;
    bool match;
  };
  const std::string& s = piece.text;
  std::vector<Part> parts;
  std::size_t last = 0;
  p.for_each_match(s, [&](std::size_t b, std::size_t e) {
    if (b > last) parts.push_back({last, b, invert});
    parts.push_back({b, e, !invert});
    last = e;
  });
  if (last < s.size()) parts.push_back({last, s.size(), invert});

  const std::size_t first_out = out.size();
  const auto emit = [&](std::size_t b, std::size_t e) {
    if (e > b) out.push_back({s.substr(b, e - b), piece.at_start && b == 0});
  };
  // Extends the last part this call emitted to end at e (or emits [b, e) when there is none).
  const auto extend = [&](std::size_t b, std::size_t e) {
    if (out.size() > first_out)
      out.back().text.append(s, b, e - b);
    else
      emit(b, e);
  };
  std::size_t carry =
      std::string::npos;  // MergedWithNext: where a match waiting for its stretch began
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Part& part = parts[i];
    const bool previous_match = i > 0 && parts[i - 1].match;
    switch (behavior) {
      case SplitBehavior::removed:
        if (!part.match) emit(part.b, part.e);
        break;
      case SplitBehavior::isolated:
        emit(part.b, part.e);
        break;
      case SplitBehavior::merged_with_previous:
        if (part.match && i > 0 && !previous_match)
          extend(part.b, part.e);
        else
          emit(part.b, part.e);
        break;
      case SplitBehavior::merged_with_next:
        if (part.match && i + 1 < parts.size() && !parts[i + 1].match) {
          carry = part.b;
        } else {
          emit(carry == std::string::npos ? part.b : carry, part.e);
          carry = std::string::npos;
        }
        break;
      case SplitBehavior::contiguous:
        if (i > 0 && part.match == previous_match)
          extend(part.b, part.e);
        else
          emit(part.b, part.e);
        break;
    }
  }
}

inline SplitBehavior behavior_of(const json& j, const std::string& where) {
  const std::string b = string_field(j, "behavior", where);
  if (b == "Removed") return SplitBehavior::removed;
  if (b == "Isolated") return SplitBehavior::isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (b == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (b == "Contiguous") return SplitBehavior::contiguous;
  fail("tokenizer: ", where, ".behavior \"", b,
       "\" is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
}

class Split final : public PreTokenizer {
 public:
  Split(Pattern p, SplitBehavior b, bool invert)
      : pattern_(std::move(p)), behavior_(b), invert_(invert) {}
  void split(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (const Piece& piece : pieces) split_by(pattern_, piece, behavior_, invert_, out);
    pieces = std::move(out);
  }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// GPT-2's pieces, then each piece's bytes as the characters of ByteLevelTable.
class ByteLevelPre final : public PreTokenizer {
 public:
  ByteLevelPre(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space) {
    if (use_regex)
      regex_ = std::make_shared<const Regex>(
          R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
          "ByteLevel's GPT-2 pattern");
  }
  void split(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (Piece& piece : pieces) {
      if (add_prefix_space_ && !piece.text.starts_with(' ')) piece.text.insert(0, 1, ' ');
      if (regex_)
        split_by(*regex_, piece, SplitBehavior::isolated, false, out);
      else
        out.push_back(std::move(piece));
    }
    const ByteLevelTable& table = ByteLevelTable::get();
    for (Piece& piece : out) {
      std::string mapped;
      mapped.reserve(piece.text.size() * 2);
      for (const char c : piece.text) mapped += table.to_utf8[static_cast<unsigned char>(c)];
      piece.text = std::move(mapped);
    }
    pieces = std::move(out);
  }

 private:
  bool add_prefix_space_;
  std::shared_ptr<const Regex> regex_;
};

enum class PrependScheme { always, first, never };

inline PrependScheme prepend_scheme_of(const json& j, const std::string& where) {
  if (const auto it = j.find("prepend_scheme"); it != j.end() && !it->is_null()) {
    const std::string s = string_field(j, "prepend_scheme", where);
    if (s == "always") return PrependScheme::always;
    if (s == "first") return PrependScheme::first;
    if (s == "never") return PrependScheme::never;
    fail("tokenizer: ", where, ".prepend_scheme \"", s, "\" is not always, first or never");
  }
  // Before prepend_scheme: add_prefix_space.
  return bool_field(j, "add_prefix_space", where, true) ? PrependScheme::always
                                                        : PrependScheme::never;
}

class Metaspace final : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)),
        marker_(replacement_),
        scheme_(scheme),
        split_(split) {}
  void split(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (Piece& piece : pieces) {
      piece.text = space_.replace_all(piece.text, replacement_);
      const bool prepend =
          scheme_ == PrependScheme::always || (scheme_ == PrependScheme::first && piece.at_start);
      if (prepend && !piece.text.starts_with(replacement_)) piece.text.insert(0, replacement_);
      if (split_)
        split_by(marker_, piece, SplitBehavior::merged_with_next, false, out);
      else
        out.push_back(std::move(piece));
    }
    pieces = std::move(out);
  }

 private:
  std::string replacement_;
  Pattern marker_, space_{" "};
  PrependScheme scheme_;
  bool split_;
};

class PreTokenizerSequence final : public PreTokenizer {
 public:
  explicit PreTokenizerSequence(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  void split(std::vector<Piece>& pieces) const override {
    for (const auto& p : parts_) p->split(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace pipeline_detail

// nullptr for a null pre-tokenizer.
inline std::unique_ptr<PreTokenizer> make_pre_tokenizer(
    const nlohmann::json& j, const std::string& where = "pre_tokenizer") {
  using namespace pipeline_detail;
  if (j.is_null()) return nullptr;
  const std::string type = type_of(j, where);
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPre>(bool_field(j, "add_prefix_space", where, true),
                                          bool_field(j, "use_regex", where, true));
  if (type == "Split")
    return std::make_unique<Split>(Pattern(field(j, "pattern", where), where + ".pattern"),
                                   behavior_of(j, where), bool_field(j, "invert", where, false));
  if (type == "Metaspace")
    return std::make_unique<Metaspace>(string_field(j, "replacement", where, "\u2581"),
                                       prepend_scheme_of(j, where),
                                       bool_field(j, "split", where, true));
  if (type == "Digits") {
    const bool each = bool_field(j, "individual_digits", where, false);
    return std::make_unique<Split>(Pattern(json{{"Regex", R"(\p{Nd})"}}, where),
                                   each ? SplitBehavior::isolated : SplitBehavior::contiguous,
                                   false);
  }
  if (type == "Sequence")
    return std::make_unique<PreTokenizerSequence>(make_stages<PreTokenizer>(
        j, "pretokenizers", where,
        [](const json& item, const std::string& at) { return make_pre_tokenizer(item, at); }));
  fail("tokenizer: ", where, ": pre_tokenizer type \"", type,
       "\" is not supported (ByteLevel, Split, Metaspace, Digits and Sequence are)");
}

// --- post-processors -----------------------------------------------------------------------------

// What TemplateProcessing puts around a single sequence; ByteLevel's and a null post-processor
// leave the ids as they are.
struct PostProcessor {
  std::vector<token_id> before, after;

  void apply(std::vector<token_id>& ids) const {
    ids.insert(ids.begin(), before.begin(), before.end());
    ids.insert(ids.end(), after.begin(), after.end());
  }
};

inline void add_post_processor(const nlohmann::json& j, const std::string& where,
                               PostProcessor& out) {
  using namespace pipeline_detail;
  if (j.is_null()) return;
  const std::string type = type_of(j, where);
  if (type == "ByteLevel") return;  // offsets only: the ids are unchanged
  if (type == "Sequence") {
    const json& list = field(j, "processors", where);
    check(list.is_array(), "tokenizer: ", where, ".processors must be an array");
    for (std::size_t i = 0; i < list.size(); ++i)
      add_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]", out);
    return;
  }
  if (type == "TemplateProcessing") {
    const json& single = field(j, "single", where);
    const json& specials = field(j, "special_tokens", where);
    check(single.is_array(), "tokenizer: ", where, ".single must be an array");
    bool seen_sequence = false;
    for (std::size_t i = 0; i < single.size(); ++i) {
      const json& item = single[i];
      const std::string at = where + ".single[" + std::to_string(i) + "]";
      if (item.contains("Sequence")) {
        check(!seen_sequence, "tokenizer: ", at, ": a single-sequence template holds one sequence");
        seen_sequence = true;
        continue;
      }
      check(item.contains("SpecialToken"), "tokenizer: ", at,
            " must be {\"Sequence\": …} or {\"SpecialToken\": …}");
      const std::string name = string_field(item["SpecialToken"], "id", at + ".SpecialToken");
      const auto it = specials.find(name);
      check(it != specials.end() && it->contains("ids") && (*it)["ids"].is_array(),
            "tokenizer: ", at, " names \"", name, "\", which ", where,
            ".special_tokens does not list with its ids");
      for (const json& id : (*it)["ids"]) {
        check(id.is_number_integer(), "tokenizer: ", where, ".special_tokens[\"", name,
              "\"].ids must be integers");
        (seen_sequence ? out.after : out.before).push_back(id.get<token_id>());
      }
    }
    check(seen_sequence, "tokenizer: ", where, ".single has no {\"Sequence\": …}");
    return;
  }
  fail("tokenizer: ", where, ": post_processor type \"", type,
       "\" is not supported (TemplateProcessing, ByteLevel and Sequence are)");
}

// --- decoders ------------------------------------------------------------------------------------

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Rewrites the tokens (bytes, not necessarily well-formed UTF-8); `added[i]`: tokens[i] is an
  // added token, which ByteLevel passes through as it is.
  virtual void decode(std::vector<std::string>& tokens, std::vector<bool>& added) const = 0;
};

namespace pipeline_detail {

class ByteLevelDecoder final : public Decoder {
 public:
  // Each run of model tokens becomes the bytes its characters stand for, as one token.
  void decode(std::vector<std::string>& tokens, std::vector<bool>& added) const override {
    const ByteLevelTable& table = ByteLevelTable::get();
    std::vector<std::string> out;
    std::vector<bool> out_added;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (added[i]) {
        out.push_back(std::move(tokens[i]));
        out_added.push_back(true);
        continue;
      }
      if (out_added.empty() || out_added.back()) {
        out.emplace_back();
        out_added.push_back(false);
      }
      const std::string& t = tokens[i];
      for (std::size_t k = 0; k < t.size();) {
        const Decoded d = decode_utf8(t, k);
        const int byte = d.valid ? table.to_byte(d.c) : -1;
        if (byte >= 0)
          out.back() += static_cast<char>(byte);
        else
          out.back().append(t, k, d.bytes);
        k += d.bytes;
      }
    }
    tokens = std::move(out);
    added = std::move(out_added);
  }
};

// Runs of <0xNN> tokens become their bytes.
class ByteFallbackDecoder final : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens, std::vector<bool>& added) const override {
    std::vector<std::string> out;
    std::vector<bool> out_added;
    bool in_bytes = false;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const int byte = parse_byte(tokens[i]);
      if (byte >= 0) {
        if (!in_bytes) {
          out.emplace_back();
          out_added.push_back(false);
        }
        out.back() += static_cast<char>(byte);
        in_bytes = true;
        continue;
      }
      in_bytes = false;
      out.push_back(std::move(tokens[i]));
      out_added.push_back(added[i]);
    }
    tokens = std::move(out);
    added = std::move(out_added);
  }

 private:
  static int parse_byte(std::string_view t) {
    if (t.size() != 6 || !t.starts_with("<0x") || t[5] != '>') return -1;
    const auto hex = [](char c) {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                    : -1;
    };
    const int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens, std::vector<bool>& added) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
    added.assign(1, false);
  }
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(Pattern p, std::string content)
      : pattern_(std::move(p)), content_(std::move(content)) {}
  void decode(std::vector<std::string>& tokens, std::vector<bool>&) const override {
    for (auto& t : tokens) t = pattern_.replace_all(t, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, std::size_t start, std::size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode(std::vector<std::string>& tokens, std::vector<bool>&) const override {
    for (auto& t : tokens) t = strip_chars(t, content_, start_, stop_);
  }

 private:
  std::string content_;
  std::size_t start_, stop_;
};

// The replacement character back to spaces; the first token loses the space the pre-tokenizer
// put in front (unless prepend_scheme is "never").
class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, PrependScheme scheme)
      : marker_(std::move(replacement)), scheme_(scheme) {}
  void decode(std::vector<std::string>& tokens, std::vector<bool>&) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      tokens[i] = marker_.replace_all(tokens[i], " ");
      if (i == 0 && scheme_ != PrependScheme::never && tokens[i].starts_with(' '))
        tokens[i].erase(0, 1);
    }
  }

 private:
  Pattern marker_;
  PrependScheme scheme_;
};

class DecoderSequence final : public Decoder {
 public:
  explicit DecoderSequence(std::vector<std::unique_ptr<Decoder>> parts)
      : parts_(std::move(parts)) {}
  void decode(std::vector<std::string>& tokens, std::vector<bool>& added) const override {
    for (const auto& p : parts_) p->decode(tokens, added);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace pipeline_detail

// nullptr for a null decoder (the tokens are then joined with spaces).
inline std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j,
                                             const std::string& where = "decoder") {
  using namespace pipeline_detail;
  if (j.is_null()) return nullptr;
  const std::string type = type_of(j, where);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Replace")
    return std::make_unique<ReplaceDecoder>(Pattern(field(j, "pattern", where), where + ".pattern"),
                                            string_field(j, "content", where, ""));
  if (type == "Strip") {
    const auto count = [&](const char* key) {
      const auto it = j.find(key);
      if (it == j.end() || it->is_null()) return std::size_t{0};
      check(it->is_number_unsigned() || (it->is_number_integer() && it->get<long long>() >= 0),
            "tokenizer: ", where, ".", key, " must be a count ≥ 0");
      return it->get<std::size_t>();
    };
    return std::make_unique<StripDecoder>(string_field(j, "content", where, " "), count("start"),
                                          count("stop"));
  }
  if (type == "Metaspace")
    return std::make_unique<MetaspaceDecoder>(string_field(j, "replacement", where, "\u2581"),
                                              prepend_scheme_of(j, where));
  if (type == "Sequence")
    return std::make_unique<DecoderSequence>(make_stages<Decoder>(
        j, "decoders", where,
        [](const json& item, const std::string& at) { return make_decoder(item, at); }));
  fail("tokenizer: ", where, ": decoder type \"", type,
       "\" is not supported (ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace and Sequence "
       "are)");
}

}  // namespace samba::text

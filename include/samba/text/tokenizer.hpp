// samba::Tokenizer — a Hugging Face tokenizer.json (with its tokenizer_config.json), text to ids
// and ids to text, as the reference implementation does it (@huggingface/tokenizers, the tokenizer
// of transformers.js, and the tokenizers crate behind Python's transformers):
//
//   encode(text): the added tokens (special ones such as <|begin_of_text|>, and any others) are
//     found first, longest match from the left, in the raw text (the "normalized" ones after the
//     normalizer); every stretch between them is normalized, pre-tokenized into pieces, and each
//     piece encoded by the BPE model; the post-processor adds its template's special tokens.
//   decode(ids): the tokens' strings through the decoder, then (when tokenizer_config.json asks,
//     as by default) transformers' clean-up of spaces before punctuation.
//   DecodeStream: decode one id at a time, printing text as soon as it is complete UTF-8.
//
// Input that is not well-formed UTF-8 is read as a browser (or Node) reads it: each ill-formed
// subsequence becomes U+FFFD. Not part of samba.hpp: it needs Oniguruma and utf8proc (CMake target
// samba::tokenizer).
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "bpe.hpp"
#include "pipeline.hpp"
#include "utf8.hpp"

namespace samba {

using text::token_id;

// One entry of tokenizer.json's "added_tokens".
struct AddedToken {
  std::string content;
  token_id id = 0;
  bool special = false, lstrip = false, rstrip = false, single_word = false, normalized = false;
};

struct DecodeOptions {
  bool skip_special_tokens = false;
  // Remove the space before . , ! ? and English contractions (transformers'
  // clean_up_tokenization); unset: as tokenizer_config.json's clean_up_tokenization_spaces says
  // (true when it does not say).
  std::optional<bool> clean_up_spaces;
};

class Tokenizer {
 public:
  // tokenizer.json and, when it is there, tokenizer_config.json from `dir`.
  static Tokenizer from_directory(const std::filesystem::path& dir) {
    const auto json_path = dir / "tokenizer.json", config_path = dir / "tokenizer_config.json";
    detail::check(std::filesystem::is_regular_file(json_path), "tokenizer: ", dir.string(),
                  " has no tokenizer.json");
    nlohmann::json config = nlohmann::json::object();
    if (std::filesystem::is_regular_file(config_path)) config = read_json(config_path);
    return Tokenizer(read_json(json_path), config, json_path.string());
  }

  // `source` names the tokenizer in errors.
  Tokenizer(const nlohmann::json& tokenizer, const nlohmann::json& config,
            const std::string& source = "tokenizer.json") {
    try {
      load(tokenizer, config);
    } catch (const error& e) {
      detail::fail(source, ": ", e.what());
    } catch (const nlohmann::json::exception& e) {
      detail::fail(source, ": tokenizer: ", e.what());
    }
  }

  Tokenizer(Tokenizer&&) noexcept = default;
  Tokenizer& operator=(Tokenizer&&) noexcept = default;

  // The ids of `text`, with the post-processor's special tokens when add_special_tokens.
  std::vector<token_id> encode(std::string_view text, bool add_special_tokens = true) const {
    const std::string input = text::repair_utf8(text);
    std::vector<token_id> ids;
    std::vector<text::Piece> pieces;
    for (const Section& raw : split_added(input, raw_matcher_)) {
      if (raw.token) {
        ids.push_back(raw.token->id);
        continue;
      }
      const std::string norm =
          normalizer_ ? normalizer_->normalize(std::string(raw.text)) : std::string(raw.text);
      for (const Section& sub : split_added(norm, normalized_matcher_)) {
        if (sub.token) {
          ids.push_back(sub.token->id);
          continue;
        }
        pieces.assign(1, {std::string(sub.text), raw.begin == 0 && sub.begin == 0});
        if (pre_tokenizer_) pre_tokenizer_->split(pieces);
        for (const text::Piece& p : pieces) bpe_->encode_word(p.text, ids);
      }
    }
    if (add_special_tokens) post_.apply(ids);
    return ids;
  }

  std::string decode(std::span<const token_id> ids, const DecodeOptions& options = {}) const {
    std::string out = text::repair_utf8(decode_bytes(ids, options.skip_special_tokens));
    return options.clean_up_spaces.value_or(clean_up_spaces_) ? clean_up(std::move(out)) : out;
  }

  // The decoded bytes before they are made well-formed: what DecodeStream works on.
  std::string decode_bytes(std::span<const token_id> ids, bool skip_special_tokens = false) const {
    std::vector<std::string> tokens;
    std::vector<bool> added;
    tokens.reserve(ids.size());
    for (const token_id id : ids) {
      const AddedToken* a = added_token(id);
      if (skip_special_tokens && is_special(id)) continue;
      tokens.push_back(std::string(token(id)));
      added.push_back(a != nullptr);
    }
    std::string out;
    if (decoder_) {
      decoder_->decode(tokens, added);
      for (const auto& t : tokens) out += t;
    } else {
      for (std::size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    }
    if (!bpe_->end_of_word_suffix().empty()) out = suffix_.replace_all(out, " ");
    return out;
  }

  // The string of a token (an added token's content, or the model's); an error for an id outside
  // the vocabulary.
  std::string_view token(token_id id) const {
    if (const AddedToken* a = added_token(id)) return a->content;
    const auto& tokens = bpe_->tokens();
    detail::check(id >= 0 && static_cast<std::size_t>(id) < tokens.size() &&
                      bpe_->vocab().contains(tokens[static_cast<std::size_t>(id)]),
                  "tokenizer: id ", id, " is not in the vocabulary (", vocab_size(), " ids)");
    return tokens[static_cast<std::size_t>(id)];
  }

  std::optional<token_id> token_to_id(std::string_view token) const {
    if (const auto it = added_by_content_.find(token); it != added_by_content_.end())
      return added_[it->second].id;
    if (const auto it = bpe_->vocab().find(token); it != bpe_->vocab().end()) return it->second;
    return std::nullopt;
  }

  // One more than the largest id (model vocabulary and added tokens).
  token_id vocab_size() const { return vocab_size_; }
  bool is_special(token_id id) const {
    const AddedToken* a = added_token(id);
    return (a && a->special) || extra_special_.contains(id);
  }
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  // From tokenizer_config.json, where it names them.
  std::optional<token_id> bos_id() const { return bos_; }
  std::optional<token_id> eos_id() const { return eos_; }

 private:
  static nlohmann::json read_json(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    detail::check(in.good(), "tokenizer: cannot read ", path.string());
    std::ostringstream s;
    s << in.rdbuf();
    nlohmann::json j = nlohmann::json::parse(s.str(), nullptr, /*allow_exceptions=*/false);
    detail::check(!j.is_discarded(), "tokenizer: ", path.string(), " is not valid JSON");
    return j;
  }

  void load(const nlohmann::json& j, const nlohmann::json& config) {
    using detail::check;
    check(j.is_object(), "tokenizer: the file must hold a JSON object");
    check(j.contains("model") && j["model"].is_object(), "tokenizer: no \"model\" object");
    const std::string type = j["model"].value("type", std::string("BPE"));
    check(type == "BPE", "tokenizer: model type \"", type, "\" is not supported (BPE is)");
    bpe_ = std::make_unique<text::Bpe>(j["model"]);
    suffix_ = text::pipeline_detail::Pattern(bpe_->end_of_word_suffix());
    const auto get = [&](const char* key) -> const nlohmann::json& {
      static const nlohmann::json null;
      const auto it = j.find(key);
      return it == j.end() ? null : *it;
    };
    normalizer_ = text::make_normalizer(get("normalizer"));
    pre_tokenizer_ = text::make_pre_tokenizer(get("pre_tokenizer"));
    text::add_post_processor(get("post_processor"), "post_processor", post_);
    decoder_ = text::make_decoder(get("decoder"));

    vocab_size_ = static_cast<token_id>(bpe_->tokens().size());
    if (const auto& list = get("added_tokens"); !list.is_null()) {
      check(list.is_array(), "tokenizer: added_tokens must be an array");
      for (std::size_t i = 0; i < list.size(); ++i) load_added(list[i], i);
    }
    for (const AddedToken& a : added_) {
      if (a.normalized && normalizer_)
        normalized_matcher_.add(normalizer_->normalize(a.content), added_index_.at(a.id));
      else
        raw_matcher_.add(a.content, added_index_.at(a.id));
    }
    for (const token_id id : post_.before) token(id);  // each id must exist
    for (const token_id id : post_.after) token(id);

    check(config.is_object(), "tokenizer: tokenizer_config.json must hold a JSON object");
    clean_up_spaces_ = config.value("clean_up_tokenization_spaces", true);
    bos_ = config_token(config, "bos_token");
    eos_ = config_token(config, "eos_token");
    if (const auto it = config.find("additional_special_tokens");
        it != config.end() && it->is_array())
      for (const auto& t : *it)
        if (const auto id = t.is_string() ? token_to_id(t.get<std::string>()) : std::nullopt)
          extra_special_.emplace(*id, true);
  }

  void load_added(const nlohmann::json& t, std::size_t i) {
    using detail::check;
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    check(t.is_object() && t.contains("id") && t["id"].is_number_integer() &&
              t["id"].get<long long>() >= 0 && t["id"].get<long long>() < (1LL << 31) &&
              t.contains("content") && t["content"].is_string(),
          "tokenizer: ", where, " must have an id ≥ 0 and a content string");
    AddedToken a;
    a.id = t["id"].get<token_id>();
    a.content = t["content"].get<std::string>();
    check(!a.content.empty(), "tokenizer: ", where, " has an empty content");
    const auto flag = [&](const char* key, bool fallback) {
      const auto it = t.find(key);
      if (it == t.end() || it->is_null()) return fallback;
      check(it->is_boolean(), "tokenizer: ", where, ".", key, " must be true or false");
      return it->get<bool>();
    };
    a.special = flag("special", false);
    a.lstrip = flag("lstrip", false);
    a.rstrip = flag("rstrip", false);
    a.single_word = flag("single_word", false);
    a.normalized = flag("normalized", !a.special);
    check(!added_index_.contains(a.id), "tokenizer: ", where, " repeats id ", a.id);
    added_index_.emplace(a.id, added_.size());
    added_by_content_.emplace(a.content, added_.size());
    vocab_size_ = std::max(vocab_size_, a.id + 1);
    added_.push_back(std::move(a));
  }

  std::optional<token_id> config_token(const nlohmann::json& config, const char* key) const {
    const auto it = config.find(key);
    if (it == config.end() || it->is_null()) return std::nullopt;
    std::string content;
    if (it->is_string())
      content = it->get<std::string>();
    else if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
      content = (*it)["content"].get<std::string>();
    else
      detail::fail("tokenizer: tokenizer_config.json's ", key,
                   " must be a string or {\"content\": …}");
    const auto id = token_to_id(content);
    detail::check(id.has_value(), "tokenizer: tokenizer_config.json's ", key, " \"", content,
                  "\" is not in the vocabulary");
    return id;
  }

  const AddedToken* added_token(token_id id) const {
    const auto it = added_index_.find(id);
    return it == added_index_.end() ? nullptr : &added_[it->second];
  }

  // The added tokens as a byte trie: the longest one that starts at a position. The root, which
  // every position of the text asks, is a table; below it, each node lists its few children.
  class Matcher {
   public:
    void add(std::string_view content, std::size_t index) {
      if (content.empty()) return;
      if (nodes_.empty()) nodes_.emplace_back();
      std::int32_t n = root_[static_cast<unsigned char>(content[0])];
      if (n == 0) {
        n = new_node();
        root_[static_cast<unsigned char>(content[0])] = n;
      }
      for (const char c : content.substr(1)) {
        const std::int32_t next = child(n, static_cast<unsigned char>(c));
        if (next != 0) {
          n = next;
          continue;
        }
        const std::int32_t made = new_node();
        nodes_[static_cast<std::size_t>(n)].next.emplace_back(static_cast<unsigned char>(c), made);
        n = made;
      }
      auto& token = nodes_[static_cast<std::size_t>(n)].token;
      if (token < 0) token = static_cast<std::int32_t>(index);
    }
    bool empty() const { return nodes_.empty(); }
    // {index of the added token, its length} of the longest match at s[i], or {-1, 0}.
    std::pair<std::int32_t, std::size_t> longest_at(std::string_view s, std::size_t i) const {
      std::pair<std::int32_t, std::size_t> best{-1, 0};
      std::int32_t n = root_[static_cast<unsigned char>(s[i])];
      for (std::size_t k = i + 1; n != 0; ++k) {
        if (const std::int32_t t = nodes_[static_cast<std::size_t>(n)].token; t >= 0)
          best = {t, k - i};
        if (k == s.size()) break;
        n = child(n, static_cast<unsigned char>(s[k]));
      }
      return best;
    }

   private:
    struct Node {
      std::vector<std::pair<unsigned char, std::int32_t>> next;
      std::int32_t token = -1;
    };
    std::int32_t new_node() {
      nodes_.emplace_back();
      return static_cast<std::int32_t>(nodes_.size() - 1);
    }
    std::int32_t child(std::int32_t n, unsigned char b) const {
      for (const auto& [c, next] : nodes_[static_cast<std::size_t>(n)].next)
        if (c == b) return next;
      return 0;
    }
    std::array<std::int32_t, 256> root_{};  // 0: no token starts with this byte
    std::vector<Node> nodes_;               // nodes_[0] is a placeholder, never a child
  };

  struct Section {
    std::string_view text;
    const AddedToken* token;
    std::size_t begin;
  };

  // s cut at the added tokens `m` finds: the leftmost, longest first. lstrip / rstrip take the
  // whitespace beside the token with it; a single_word token must not touch a letter, digit or _.
  std::vector<Section> split_added(std::string_view s, const Matcher& m) const {
    std::vector<Section> out;
    std::size_t start = 0;
    if (!m.empty()) {
      for (std::size_t i = 0; i < s.size();) {
        const auto [index, len] = m.longest_at(s, i);
        if (index < 0) {
          ++i;
          continue;
        }
        const AddedToken& a = added_[static_cast<std::size_t>(index)];
        if (a.single_word && (word_char_before(s, i) || word_char_at(s, i + len))) {
          ++i;
          continue;
        }
        std::size_t b = i, e = i + len;
        if (a.lstrip)
          while (b > start) {
            std::size_t k = b - 1;
            while (k > start && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
            if (!text::is_whitespace(text::decode_utf8(s, k).c)) break;
            b = k;
          }
        if (a.rstrip)
          while (e < s.size()) {
            const text::Decoded d = text::decode_utf8(s, e);
            if (!text::is_whitespace(d.c)) break;
            e += d.bytes;
          }
        if (b > start) out.push_back({s.substr(start, b - start), nullptr, start});
        out.push_back({s.substr(b, e - b), &a, b});
        start = i = e;
      }
    }
    if (start < s.size()) out.push_back({s.substr(start), nullptr, start});
    return out;
  }

  static bool is_word(char32_t c) {
    if (c == '_') return true;
    const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
  }
  static bool word_char_at(std::string_view s, std::size_t i) {
    return i < s.size() && is_word(text::decode_utf8(s, i).c);
  }
  static bool word_char_before(std::string_view s, std::size_t i) {
    if (i == 0) return false;
    std::size_t k = i - 1;
    while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
    return is_word(text::decode_utf8(s, k).c);
  }

  // transformers' clean_up_tokenization.
  static std::string clean_up(std::string s) {
    using text::pipeline_detail::Pattern;
    static const std::pair<Pattern, const char*> rules[] = {
        {Pattern(" ."), "."},    {Pattern(" ?"), "?"},   {Pattern(" !"), "!"},
        {Pattern(" ,"), ","},    {Pattern(" ' "), "'"},  {Pattern(" n't"), "n't"},
        {Pattern(" 'm"), "'m"},  {Pattern(" 's"), "'s"}, {Pattern(" 've"), "'ve"},
        {Pattern(" 're"), "'re"}};
    for (const auto& [from, to] : rules) s = from.replace_all(s, to);
    return s;
  }

  std::unique_ptr<text::Bpe> bpe_;
  text::pipeline_detail::Pattern suffix_{""};  // the model's end_of_word_suffix
  std::unique_ptr<text::Normalizer> normalizer_;
  std::unique_ptr<text::PreTokenizer> pre_tokenizer_;
  text::PostProcessor post_;
  std::unique_ptr<text::Decoder> decoder_;
  std::vector<AddedToken> added_;
  std::unordered_map<token_id, std::size_t> added_index_;
  std::unordered_map<std::string, std::size_t, text::StringHash, std::equal_to<>> added_by_content_;
  std::unordered_map<token_id, bool> extra_special_;
  Matcher raw_matcher_, normalized_matcher_;
  token_id vocab_size_ = 0;
  bool clean_up_spaces_ = true;
  std::optional<token_id> bos_, eos_;
};

// Decoding one id at a time: push() returns the text that the new id completed (possibly none:
// a character whose bytes are split over byte-level or <0xNN> tokens is held back until its last
// byte arrives), flush() what is left. The pieces add up to tokenizer.decode(all ids) without the
// clean-up of spaces (which needs to see what follows).
class DecodeStream {
 public:
  explicit DecodeStream(const Tokenizer& tokenizer, bool skip_special_tokens = false)
      : tokenizer_(&tokenizer), skip_special_(skip_special_tokens) {}

  // Decodes what follows `context` (a prompt, say) as it would follow it in one decode: the text
  // of the context itself is not printed, but the first new token is read after it (a
  // SentencePiece "▁word" then keeps its space).
  void follow(std::span<const token_id> context) {
    for (const token_id id : context) tokenizer_->token(id);
    ids_.assign(context.begin(), context.end());
    printed_ = tokenizer_->decode_bytes(ids_, skip_special_).size();
  }

  std::string push(token_id id) {
    tokenizer_->token(id);  // an unknown id is an error here, not later
    ids_.push_back(id);
    // The ids since the last point where everything was printed, decoded together, so that the
    // decoder sees each token in context (Strip and Metaspace treat the first token apart).
    const std::string raw = tokenizer_->decode_bytes(ids_, skip_special_);
    const std::size_t complete = text::complete_utf8_prefix(raw);
    if (complete <= printed_) return {};
    std::string out =
        text::repair_utf8(std::string_view(raw).substr(printed_, complete - printed_));
    if (complete == raw.size()) {
      ids_.erase(ids_.begin(), ids_.end() - 1);
      printed_ = tokenizer_->decode_bytes(ids_, skip_special_).size();
    } else {
      printed_ = complete;
    }
    return out;
  }

  // The bytes still held back, as U+FFFD (a stream that ended inside a character).
  std::string flush() {
    const std::string raw = tokenizer_->decode_bytes(ids_, skip_special_);
    std::string out =
        raw.size() > printed_ ? text::repair_utf8(std::string_view(raw).substr(printed_)) : "";
    ids_.clear();
    printed_ = 0;
    return out;
  }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::vector<token_id> ids_;
  std::size_t printed_ = 0;
};

}  // namespace samba

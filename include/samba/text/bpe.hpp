// Byte-pair encoding, the model of tokenizer.json's "BPE" type (Sennrich et al. 2016, as Hugging
// Face's tokenizers crate runs it):
//
//   a word (one pre-tokenized piece) starts as its characters, each looked up in the vocabulary;
//   a character the vocabulary lacks becomes its bytes as <0xNN> tokens (byte_fallback) or the
//   unknown token (consecutive ones fused into one with fuse_unk), or is dropped without either;
//   then, while some adjacent pair has a merge, the pair of lowest merge rank (leftmost among
//   equals) becomes one symbol. ignore_merges: a word the vocabulary holds whole is that token.
//
// Merges come as "a b" strings or ["a", "b"] pairs; each must name vocabulary tokens whose
// concatenation (minus continuing_subword_prefix on the right part) is in the vocabulary too.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "utf8.hpp"

namespace samba::text {

using token_id = std::int32_t;

// std::string keys looked up by std::string_view without a copy.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, token_id, StringHash, std::equal_to<>>;

class Bpe {
 public:
  // model: tokenizer.json's "model" object (type "BPE").
  explicit Bpe(const nlohmann::json& model) {
    using detail::check;
    check(model.contains("vocab") && model["vocab"].is_object(),
          "tokenizer: model.vocab must be an object of token → id");
    for (const auto& [token, id] : model["vocab"].items()) {
      check(id.is_number_integer() && id.get<long long>() >= 0 && id.get<long long>() < (1LL << 31),
            "tokenizer: model.vocab[\"", token, "\"] must be an id ≥ 0, got ", id.dump());
      const auto i = id.get<token_id>();
      vocab_.emplace(token, i);
      if (static_cast<std::size_t>(i) >= tokens_.size()) tokens_.resize(i + 1);
      tokens_[i] = token;
    }
    const auto str = [&](const char* key) -> std::string {
      const auto it = model.find(key);
      if (it == model.end() || it->is_null()) return {};
      check(it->is_string(), "tokenizer: model.", key, " must be a string or null");
      return it->get<std::string>();
    };
    const auto flag = [&](const char* key) {
      const auto it = model.find(key);
      if (it == model.end() || it->is_null()) return false;
      check(it->is_boolean(), "tokenizer: model.", key, " must be true or false");
      return it->get<bool>();
    };
    prefix_ = str("continuing_subword_prefix");
    suffix_ = str("end_of_word_suffix");
    byte_fallback_ = flag("byte_fallback");
    fuse_unk_ = flag("fuse_unk");
    ignore_merges_ = flag("ignore_merges");
    if (const auto it = model.find("dropout"); it != model.end() && !it->is_null())
      check(it->is_number() && it->get<double>() == 0.0, "tokenizer: model.dropout ", it->dump(),
            " is not supported (encoding is deterministic)");
    if (const std::string unk = str("unk_token"); !unk.empty()) {
      const auto it = vocab_.find(unk);
      check(it != vocab_.end(), "tokenizer: model.unk_token \"", unk,
            "\" is not in the vocabulary");
      unk_ = it->second;
    }
    load_merges(model);
  }

  // The ids of one pre-tokenized piece (UTF-8, well-formed), appended to out.
  void encode_word(std::string_view word, std::vector<token_id>& out) const {
    if (word.empty()) return;
    if (ignore_merges_)
      if (const auto it = vocab_.find(word); it != vocab_.end()) return out.push_back(it->second);
    const bool cacheable = word.size() <= cache_max_word;
    if (cacheable) {
      const std::lock_guard lock(cache_mutex_);
      if (const auto it = cache_.find(word); it != cache_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    const std::size_t from = out.size();
    merge_word(word, out);
    if (cacheable) {
      const std::lock_guard lock(cache_mutex_);
      if (cache_.size() >= cache_capacity) cache_.clear();
      cache_.emplace(std::string(word), std::vector<token_id>(out.begin() + from, out.end()));
    }
  }

  const Vocab& vocab() const { return vocab_; }
  // The model's token strings by id ("" for ids the vocabulary skips).
  const std::vector<std::string>& tokens() const { return tokens_; }
  std::optional<token_id> unk() const { return unk_; }
  const std::string& end_of_word_suffix() const { return suffix_; }

 private:
  struct Merge {
    std::int32_t rank = 0;
    token_id merged = 0;
  };
  static std::uint64_t pair_key(token_id a, token_id b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
  }

  void load_merges(const nlohmann::json& model) {
    using detail::check;
    const auto it = model.find("merges");
    if (it == model.end() || it->is_null()) return;
    check(it->is_array(), "tokenizer: model.merges must be an array");
    merges_.reserve(it->size());
    std::int32_t rank = 0;
    for (const auto& m : *it) {
      std::string a, b;
      if (m.is_string()) {
        const auto& s = m.get_ref<const std::string&>();
        const auto space = s.find(' ');
        check(space != std::string::npos && s.find(' ', space + 1) == std::string::npos,
              "tokenizer: model.merges[", rank, "] \"", s, "\" is not two tokens split by a space");
        a = s.substr(0, space), b = s.substr(space + 1);
      } else {
        check(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(),
              "tokenizer: model.merges[", rank, "] must be \"a b\" or [\"a\", \"b\"], got ",
              m.dump());
        a = m[0].get<std::string>(), b = m[1].get<std::string>();
      }
      const auto ia = vocab_.find(a), ib = vocab_.find(b);
      check(ia != vocab_.end() && ib != vocab_.end(), "tokenizer: model.merges[", rank, "] (\"", a,
            "\", \"", b, "\") names a token that is not in the vocabulary");
      const std::string_view tail = !prefix_.empty() && std::string_view(b).starts_with(prefix_)
                                        ? std::string_view(b).substr(prefix_.size())
                                        : std::string_view(b);
      const auto im = vocab_.find(a + std::string(tail));
      check(im != vocab_.end(), "tokenizer: model.merges[", rank, "] (\"", a, "\", \"", b,
            "\") makes \"", a, tail, "\", which is not in the vocabulary");
      // A pair listed twice keeps its last rank, as both reference implementations do.
      merges_.insert_or_assign(pair_key(ia->second, ib->second), Merge{rank, im->second});
      ++rank;
    }
  }

  // The symbols of one word: a doubly linked list over the characters, merged in place.
  struct Symbol {
    token_id id;
    std::int32_t prev, next;
    bool alive;
  };
  struct Candidate {
    std::int32_t rank, pos;
    token_id merged;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };

  void merge_word(std::string_view word, std::vector<token_id>& out) const {
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    bool last_unk = false;
    const auto push = [&](token_id id) {
      const auto n = static_cast<std::int32_t>(symbols.size());
      symbols.push_back({id, n - 1, -1, true});
      if (n > 0) symbols[n - 1].next = n;
    };
    std::string piece;
    for (std::size_t i = 0; i < word.size();) {
      const std::size_t len = decode_utf8(word, i).bytes;
      const std::string_view ch = word.substr(i, len);
      const bool first = i == 0, last = i + len == word.size();
      i += len;
      piece.clear();
      if (!first) piece += prefix_;
      piece += ch;
      if (last) piece += suffix_;
      if (const auto it = vocab_.find(piece); it != vocab_.end()) {
        push(it->second);
        last_unk = false;
        continue;
      }
      if (byte_fallback_ && push_bytes(ch, push)) {
        last_unk = false;
        continue;
      }
      if (unk_ && !(fuse_unk_ && last_unk)) push(*unk_);
      last_unk = unk_.has_value();
    }

    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
    const auto consider = [&](std::int32_t pos) {
      const std::int32_t next = symbols[pos].next;
      if (next < 0) return;
      const auto it = merges_.find(pair_key(symbols[pos].id, symbols[next].id));
      if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.merged});
    };
    for (std::int32_t p = 0; p + 1 < static_cast<std::int32_t>(symbols.size()); ++p) consider(p);
    while (!queue.empty()) {
      const Candidate c = queue.top();
      queue.pop();
      Symbol& left = symbols[c.pos];
      if (!left.alive || left.next < 0) continue;
      // Stale when either side has changed since the candidate was queued.
      const auto it = merges_.find(pair_key(left.id, symbols[left.next].id));
      if (it == merges_.end() || it->second.merged != c.merged) continue;
      Symbol& right = symbols[left.next];
      left.id = c.merged;
      right.alive = false;
      left.next = right.next;
      if (left.next >= 0) symbols[left.next].prev = c.pos;
      if (left.prev >= 0) consider(left.prev);
      consider(c.pos);
    }
    for (const Symbol& s : symbols)
      if (s.alive) out.push_back(s.id);
  }

  // <0xNN> for each byte of ch, if the vocabulary has them all.
  template <class Push>
  bool push_bytes(std::string_view ch, const Push& push) const {
    token_id ids[4];
    char name[7] = {'<', '0', 'x', 0, 0, '>', 0};
    constexpr char hex[] = "0123456789ABCDEF";
    for (std::size_t k = 0; k < ch.size(); ++k) {
      const auto b = static_cast<unsigned char>(ch[k]);
      name[3] = hex[b >> 4], name[4] = hex[b & 15];
      const auto it = vocab_.find(std::string_view(name, 6));
      if (it == vocab_.end()) return false;
      ids[k] = it->second;
    }
    for (std::size_t k = 0; k < ch.size(); ++k) push(ids[k]);
    return true;
  }

  static constexpr std::size_t cache_max_word = 256, cache_capacity = 1 << 16;

  Vocab vocab_;
  std::vector<std::string> tokens_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::string prefix_, suffix_;
  std::optional<token_id> unk_;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<token_id>, StringHash, std::equal_to<>>
      cache_;
};

}  // namespace samba::text

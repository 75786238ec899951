// What the tokenizer fuzz target runs on one input, shared with the Catch2 test that replays the
// seed corpus and the inputs that once crashed (tests/text/fuzz_inputs.cpp). It returns or throws
// samba::error; anything else (a crash, a sanitizer report, std::logic_error from a broken
// invariant) is a bug. Byte 0 picks the mode, the rest is the input:
//
//   0  a tokenizer.json: loaded; one that loads encodes, decodes and streams a few fixed texts;
//   1  text for tests/text/data/tiny (SentencePiece-style, <unk> for what it lacks): encoded,
//      decoded, streamed, and the stream must add up to the whole decode;
//   2  text for a byte-level BPE tokenizer (all 256 bytes, a few merges): decoding must give back
//      exactly the text, its ill-formed UTF-8 replaced by U+FFFD;
//   3  little-endian 16-bit ids for the tiny tokenizer: decoded and streamed (an id outside the
//      vocabulary is an error).
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <samba/text/tokenizer.hpp>

#ifndef SAMBA_TEXT_DATA_DIR
#error "SAMBA_TEXT_DATA_DIR must name tests/text/data"
#endif

namespace samba_fuzz {

inline const samba::Tokenizer& tiny_tokenizer() {
  static const samba::Tokenizer t = samba::Tokenizer::from_directory(SAMBA_TEXT_DATA_DIR "/tiny");
  return t;
}

inline const samba::Tokenizer& byte_level_tokenizer() {
  static const samba::Tokenizer t = [] {
    const auto& table = samba::text::ByteLevelTable::get();
    nlohmann::json vocab = nlohmann::json::object(), merges = nlohmann::json::array();
    for (unsigned b = 0; b < 256; ++b) vocab[table.to_utf8[b]] = b;
    int next = 256;
    for (const char* m : {"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "Ġ Ġ", "ĠĠ ĠĠ"}) {
      const std::string s = m;
      const auto space = s.find(' ');
      vocab[s.substr(0, space) + s.substr(space + 1)] = next++;
      merges.push_back(s);
    }
    nlohmann::json j = {
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
        {"pre_tokenizer",
         {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
        {"decoder", {{"type", "ByteLevel"}}},
        {"added_tokens", {{{"id", next}, {"content", "<|end|>"}, {"special", true}}}}};
    return samba::Tokenizer(j, {{"clean_up_tokenization_spaces", false}}, "fuzz byte-level");
  }();
  return t;
}

// Encodes, decodes and streams `text`; the stream must add up to the whole decode (no clean-up).
inline std::string round(const samba::Tokenizer& t, std::string_view text) {
  const auto ids = t.encode(text);
  if (ids.empty()) return {};
  const std::string whole = t.decode(ids, {.skip_special_tokens = false, .clean_up_spaces = false});
  samba::DecodeStream stream(t);
  std::string streamed;
  for (const auto id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (streamed != whole) throw std::logic_error("the stream differs from the whole decode");
  t.decode(ids, {.skip_special_tokens = true, .clean_up_spaces = true});
  return whole;
}

inline void tokenizer_input(std::span<const std::uint8_t> input) {
  if (input.empty()) return;
  const std::string_view rest(reinterpret_cast<const char*>(input.data()) + 1, input.size() - 1);
  switch (input[0] % 4) {
    case 0: {
      const auto j = nlohmann::json::parse(rest, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) throw samba::error("fuzz: not JSON");
      const samba::Tokenizer t(j, nlohmann::json::object(), "fuzz tokenizer.json");
      for (const char* text : {"Hello world", " the  end\n", "<s>a</s>", "\xE2\x82\xAC \xFF", ""})
        round(t, text);
      return;
    }
    case 1:
      round(tiny_tokenizer(), rest);
      return;
    case 2:
      if (round(byte_level_tokenizer(), rest) != samba::text::repair_utf8(rest))
        throw std::logic_error("byte-level BPE did not decode back to its text");
      return;
    case 3: {
      std::vector<samba::token_id> ids;
      for (std::size_t i = 0; i + 1 < rest.size(); i += 2)
        ids.push_back(static_cast<std::uint8_t>(rest[i]) |
                      (static_cast<std::uint8_t>(rest[i + 1]) << 8));
      if (ids.empty()) return;
      const auto& t = tiny_tokenizer();
      t.decode(ids);
      samba::DecodeStream stream(t, /*skip_special_tokens=*/true);
      for (const auto id : ids) stream.push(id);
      stream.flush();
      return;
    }
  }
}

}  // namespace samba_fuzz

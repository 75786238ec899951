// UTF-8 as the tokenizer needs it: code points in and out, invalid input repaired the way the
// WHATWG decoder (and so every browser, Node and the reference tokenizer) repairs it, the end of
// the last complete character for streaming, and GPT-2's byte-to-character table of byte-level BPE.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace samba::text {

inline constexpr char32_t replacement_char = 0xFFFD;

// Appends the UTF-8 encoding of the code point c (≤ 0x10FFFF).
inline void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// One step of decoding at s[i]: the code point and the bytes it takes. An ill-formed sequence
// decodes as U+FFFD and takes its maximal subpart (Unicode 15 §3.9, "U+FFFD substitution of maximal
// subparts", the WHATWG rule): at least one byte, and every byte that could still have begun a
// well-formed sequence, so that no valid character after it is swallowed.
struct Decoded {
  char32_t c = 0;
  std::size_t bytes = 0;
  bool valid = false;
};

inline Decoded decode_utf8(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = b(i);
  if (lead < 0x80) return {lead, 1, true};
  std::size_t need = 0;
  char32_t c = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the first continuation byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1, c = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2, c = lead & 0x0F;
    if (lead == 0xE0) lo = 0xA0;  // no overlong forms
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3, c = lead & 0x07;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {replacement_char, 1, false};
  }
  std::size_t k = 1;
  for (; k <= need; ++k) {
    if (i + k >= s.size()) return {replacement_char, k, false};
    const unsigned char x = b(i + k);
    if (x < (k == 1 ? lo : 0x80) || x > (k == 1 ? hi : 0xBF)) return {replacement_char, k, false};
    c = (c << 6) | (x & 0x3F);
  }
  return {c, need + 1, true};
}

inline bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const Decoded d = decode_utf8(s, i);
    if (!d.valid) return false;
    i += d.bytes;
  }
  return true;
}

// s with each ill-formed subsequence replaced by U+FFFD (s itself when it is well-formed).
inline std::string repair_utf8(std::string_view s) {
  if (valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size();) {
    const Decoded d = decode_utf8(s, i);
    if (d.valid)
      out.append(s.substr(i, d.bytes));
    else
      append_utf8(out, replacement_char);
    i += d.bytes;
  }
  return out;
}

// The length of the longest prefix of s that does not end inside a character which more bytes
// could still complete: what a stream may print now. Ill-formed bytes count as complete (they will
// print as U+FFFD whatever follows).
inline std::size_t complete_utf8_prefix(std::string_view s) {
  // A character is at most 4 bytes: only the last 3 bytes can begin an unfinished one.
  const std::size_t from = s.size() > 3 ? s.size() - 3 : 0;
  for (std::size_t i = from; i < s.size(); ++i) {
    const auto lead = static_cast<unsigned char>(s[i]);
    if (lead < 0xC2 || lead > 0xF4) continue;
    const Decoded d = decode_utf8(s, i);
    // Truncated by the end of s (not by a bad byte): hold it back.
    if (!d.valid && i + d.bytes >= s.size()) return i;
  }
  return s.size();
}

// Unicode's White_Space property (what Rust's char::is_whitespace tests).
inline bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// GPT-2's table for byte-level BPE: each byte as a printable character. The printable Latin-1
// bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 take U+0100, U+0101 …
// in byte order.
struct ByteLevelTable {
  std::array<char32_t, 256> to_char{};
  std::array<std::string, 256> to_utf8{};
  std::array<std::int16_t, 0x100 + 68> from_char{};  // -1: no byte

  ByteLevelTable() {
    from_char.fill(-1);
    const auto printable = [](unsigned b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    char32_t next = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      to_char[b] = printable(b) ? static_cast<char32_t>(b) : next++;
      append_utf8(to_utf8[b], to_char[b]);
      from_char[to_char[b]] = static_cast<std::int16_t>(b);
    }
  }

  // The byte a character stands for, or -1 when it stands for none.
  int to_byte(char32_t c) const { return c < from_char.size() ? from_char[c] : -1; }

  static const ByteLevelTable& get() {
    static const ByteLevelTable table;
    return table;
  }
};

}  // namespace samba::text

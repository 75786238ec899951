// UTF-8 decoding, repair and the byte-level table (include/samba/text/utf8.hpp).
#include <samba/text/utf8.hpp>

#include <catch2/catch.hpp>
#include <set>
#include <string>

using namespace samba::text;

namespace {
const std::string fffd = "\xEF\xBF\xBD";
}

TEST_CASE("decode_utf8 reads one to four bytes and rejects what is not UTF-8", "[text]") {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  Decoded d = decode_utf8(s, 0);
  CHECK((d.c == U'a' && d.bytes == 1 && d.valid));
  d = decode_utf8(s, 1);
  CHECK((d.c == 0xE9 && d.bytes == 2 && d.valid));
  d = decode_utf8(s, 3);
  CHECK((d.c == 0x20AC && d.bytes == 3 && d.valid));
  d = decode_utf8(s, 6);
  CHECK((d.c == 0x1F600 && d.bytes == 4 && d.valid));
  CHECK(valid_utf8(s));
  for (const std::string bad :
       {"\x80", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF", "\xE2\x82", "\xF0\x9F\x98"})
    CHECK_FALSE(valid_utf8(bad));
}

TEST_CASE("repair_utf8 replaces maximal subparts with U+FFFD, as WHATWG decoders do", "[text]") {
  CHECK(repair_utf8("plain ascii") == "plain ascii");
  CHECK(repair_utf8("\xE2\x82\xAC") == "\xE2\x82\xAC");
  // A truncated sequence is one replacement; the byte that cut it short is read again.
  CHECK(repair_utf8("\xE2\x82"
                    "A") == fffd + "A");
  CHECK(repair_utf8("\xF0\x9F\x98") == fffd);
  CHECK(repair_utf8("\xF0\x9F\x98\xE2\x82\xAC") == fffd + "\xE2\x82\xAC");
  // Overlong forms, surrogates and bytes that never start a sequence: one replacement per byte.
  CHECK(repair_utf8("\xC0\xAF") == fffd + fffd);
  CHECK(repair_utf8("\xED\xA0\x80") == fffd + fffd + fffd);
  CHECK(repair_utf8("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);
  CHECK(repair_utf8("a\x80\x80z") == "a" + fffd + fffd + "z");
  CHECK(repair_utf8("\xFF\xFE") == fffd + fffd);
}

TEST_CASE("complete_utf8_prefix holds back only a character that more bytes could finish",
          "[text]") {
  CHECK(complete_utf8_prefix("") == 0);
  CHECK(complete_utf8_prefix("abc") == 3);
  CHECK(complete_utf8_prefix("ab\xE2") == 2);
  CHECK(complete_utf8_prefix("ab\xE2\x82") == 2);
  CHECK(complete_utf8_prefix("ab\xE2\x82\xAC") == 5);
  CHECK(complete_utf8_prefix("\xF0\x9F\x98") == 0);
  // Bytes that no continuation can fix are complete (they print as U+FFFD whatever follows).
  CHECK(complete_utf8_prefix("ab\xFF") == 3);
  CHECK(complete_utf8_prefix("ab\xE2"
                             "c") == 4);
  CHECK(complete_utf8_prefix("ab\xC0") == 3);
}

TEST_CASE("the byte-level table is GPT-2's: printable bytes stand for themselves", "[text]") {
  const ByteLevelTable& t = ByteLevelTable::get();
  std::set<char32_t> seen;
  for (unsigned b = 0; b < 256; ++b) {
    seen.insert(t.to_char[b]);
    CHECK(t.to_byte(t.to_char[b]) == static_cast<int>(b));
  }
  CHECK(seen.size() == 256);
  CHECK(t.to_char['A'] == U'A');
  CHECK(t.to_char[' '] == 0x120);   // Ġ
  CHECK(t.to_char['\n'] == 0x10A);  // Ċ
  CHECK(t.to_char[0] == 0x100);
  CHECK(t.to_char[0xAD] == 0x143);  // the soft hyphen is the last byte that is not printable
  CHECK(t.to_byte(U'\u4E2D') == -1);
}

// samba::Tokenizer on small hand-made tokenizers (include/samba/text): the BPE merge order, each
// pipeline stage, added tokens, decoding and its stream, and the errors bad files get. The real
// vocabularies are checked against the reference implementation by text.reference
// (tests/text/run-reference.sh).
#include <samba/text/tokenizer.hpp>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using nlohmann::json;
using samba::DecodeStream;
using samba::token_id;
using samba::Tokenizer;

namespace {

// A byte-level BPE tokenizer (GPT-2 style): the 256 byte characters as ids 0 … 255 (in byte
// order), then one id per merge, in merge order.
json byte_level(const std::vector<std::pair<std::string, std::string>>& merges) {
  const auto& table = samba::text::ByteLevelTable::get();
  json vocab = json::object(), list = json::array();
  for (unsigned b = 0; b < 256; ++b) vocab[table.to_utf8[b]] = b;
  int next = 256;
  for (const auto& [a, b] : merges) {
    vocab[a + b] = next++;
    list.push_back(a + " " + b);
  }
  return {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", list}}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}}},
      {"added_tokens", json::array()}};
}

std::vector<token_id> ids_of(const Tokenizer& t, const std::vector<std::string>& tokens) {
  std::vector<token_id> ids;
  for (const auto& s : tokens) {
    const auto id = t.token_to_id(s);
    REQUIRE(id.has_value());
    ids.push_back(*id);
  }
  return ids;
}

// A SentencePiece-style BPE tokenizer (Llama-2's pipeline): <unk> <s> </s>, the 256 <0xNN> byte
// tokens (ids 3 … 258), then the listed tokens; spaces become ▁ and the text starts with one.
json sentencepiece(const std::vector<std::string>& tokens,
                   const std::vector<std::pair<std::string, std::string>>& merges,
                   bool byte_fallback = true) {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  char name[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  int next = 259;
  for (const auto& t : tokens) vocab[t] = next++;
  json list = json::array();
  for (const auto& [a, b] : merges) list.push_back(json::array({a, b}));
  return {{"model",
           {{"type", "BPE"},
            {"vocab", vocab},
            {"merges", list},
            {"unk_token", "<unk>"},
            {"byte_fallback", byte_fallback},
            {"fuse_unk", true}}},
          {"normalizer",
           {{"type", "Sequence"},
            {"normalizers",
             {{{"type", "Prepend"}, {"prepend", "\u2581"}},
              {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}}}}},
          {"pre_tokenizer", nullptr},
          {"post_processor",
           {{"type", "TemplateProcessing"},
            {"single",
             {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
          {"decoder",
           {{"type", "Sequence"},
            {"decoders",
             {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
              {{"type", "ByteFallback"}},
              {{"type", "Fuse"}},
              {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
          {"added_tokens",
           {{{"id", 0}, {"content", "<unk>"}, {"special", true}},
            {{"id", 1}, {"content", "<s>"}, {"special", true}},
            {{"id", 2}, {"content", "</s>"}, {"special", true}}}}};
}

std::vector<std::string> split(const json& pre_tokenizer, const std::string& text) {
  const auto p = samba::text::make_pre_tokenizer(pre_tokenizer);
  std::vector<samba::text::Piece> pieces{{text, true}};
  p->split(pieces);
  std::vector<std::string> out;
  for (const auto& piece : pieces) out.push_back(piece.text);
  return out;
}

}  // namespace

TEST_CASE("BPE merges the pair of lowest rank first, the leftmost among equals", "[text]") {
  const Tokenizer t(byte_level({{"h", "e"},
                                {"l", "l"},
                                {"he", "ll"},
                                {"hell", "o"},
                                {"Ġ", "w"},
                                {"o", "r"},
                                {"Ġw", "or"},
                                {"Ġwor", "l"},
                                {"Ġworl", "d"}}),
                    json::object());
  CHECK(t.encode("hello world") == ids_of(t, {"hello", "Ġworld"}));
  CHECK(t.decode(t.encode("hello world")) == "hello world");
  CHECK(t.encode("hell") == ids_of(t, {"hell"}));
  CHECK(t.encode("helo") == ids_of(t, {"he", "l", "o"}));

  // "b c" outranks "a b": abc is a + bc, not ab + c.
  const Tokenizer ranked(byte_level({{"b", "c"}, {"a", "b"}}), json::object());
  CHECK(ranked.encode("abc") == ids_of(ranked, {"a", "bc"}));
  CHECK(ranked.encode("abd") == ids_of(ranked, {"ab", "d"}));

  const Tokenizer left(byte_level({{"a", "a"}}), json::object());
  CHECK(left.encode("aaa") == ids_of(left, {"aa", "a"}));
  CHECK(left.encode("aaaa") == ids_of(left, {"aa", "aa"}));
}

TEST_CASE("ignore_merges takes a word the vocabulary holds whole", "[text]") {
  json j = byte_level({{"a", "b"}});
  j["model"]["vocab"]["abc"] = 300;  // no merge makes it
  CHECK(Tokenizer(j, json::object()).encode("abc") == std::vector<token_id>{256, 'c'});
  j["model"]["ignore_merges"] = true;
  CHECK(Tokenizer(j, json::object()).encode("abc") == std::vector<token_id>{300});
}

TEST_CASE("byte-level BPE decodes any text back, ill-formed bytes as U+FFFD", "[text]") {
  const Tokenizer t(byte_level({{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}}), json::object());
  std::mt19937 rng(7);
  const std::string alphabet[] = {"a",  "b", " ", "  ",   "\n",       "\t", "é",
                                  "中", "😀", "1", "\xFF", "\xE2\x82", "'s", "the"};
  for (int trial = 0; trial < 300; ++trial) {
    std::string text;
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) text += alphabet[rng() % std::size(alphabet)];
    const auto ids = t.encode(text);
    const std::string want = samba::text::repair_utf8(text);
    REQUIRE(t.decode(ids, {.skip_special_tokens = false, .clean_up_spaces = false}) == want);
    DecodeStream stream(t);
    std::string streamed;
    for (const auto id : ids) streamed += stream.push(id);
    REQUIRE(streamed + stream.flush() == want);
  }
}

TEST_CASE("SentencePiece-style BPE: ▁ for spaces, bytes for what the vocabulary lacks", "[text]") {
  const Tokenizer t(sentencepiece({"\u2581", "h", "i", "\u2581h", "\u2581hi"},
                                  {{"\u2581", "h"}, {"\u2581h", "i"}}),
                    json::object());
  // <s>, ▁hi, ▁, then € (U+20AC) as its three bytes <0xE2> <0x82> <0xAC>.
  const std::vector<token_id> ids{1, 263, 259, 3 + 0xE2, 3 + 0x82, 3 + 0xAC};
  CHECK(t.encode("hi €") == ids);
  CHECK(t.encode("hi €", /*add_special_tokens=*/false) ==
        std::vector<token_id>(ids.begin() + 1, ids.end()));
  CHECK(t.decode(ids) == "<s> hi €");
  CHECK(t.decode(ids, {.skip_special_tokens = true, .clean_up_spaces = std::nullopt}) == "hi €");

  // The stream holds € back until its last byte.
  DecodeStream stream(t, /*skip_special_tokens=*/true);
  std::vector<std::string> pieces;
  for (const auto id : ids) pieces.push_back(stream.push(id));
  CHECK(pieces == std::vector<std::string>{"", "hi", " ", "", "", "€"});
  CHECK(stream.flush().empty());

  // After a prompt, the first new token keeps its space (Strip only touches the text's start).
  DecodeStream fresh(t), after(t);
  CHECK(fresh.push(263) == "hi");
  after.follow(std::vector<token_id>{1, 263});
  CHECK(after.push(263) == " hi");
  CHECK(after.push(3 + 0xE2).empty());

  // A stream that ends inside a character prints what it has as U+FFFD.
  DecodeStream cut(t, true);
  CHECK(cut.push(263) == "hi");
  CHECK(cut.push(3 + 0xE2).empty());
  CHECK(cut.flush() == "\xEF\xBF\xBD");

  // Without byte_fallback, unknown characters are <unk>, a run of them one <unk> (fuse_unk).
  const Tokenizer no_bytes(sentencepiece({"\u2581", "h", "i"}, {}, /*byte_fallback=*/false),
                           json::object());
  CHECK(no_bytes.encode("h€€i", false) == std::vector<token_id>{259, 260, 0, 261});
}

TEST_CASE("added tokens: longest match, lstrip / rstrip, single_word, special ones skipped",
          "[text]") {
  json j = byte_level({{"c", "a"}, {"ca", "t"}});
  j["added_tokens"] = {{{"id", 300}, {"content", "<|x|>"}, {"special", true}},
                       {{"id", 301}, {"content", "<|x|>y"}, {"special", true}},
                       {{"id", 302}, {"content", "[L]"}, {"special", true}, {"lstrip", true}},
                       {{"id", 303}, {"content", "[R]"}, {"special", true}, {"rstrip", true}},
                       {{"id", 304},
                        {"content", "dog"},
                        {"special", false},
                        {"single_word", true},
                        {"normalized", false}}};
  const Tokenizer t(j, json::object());
  const auto a = static_cast<token_id>('a'), b = static_cast<token_id>('b');
  CHECK(t.encode("a<|x|>b") == std::vector<token_id>{a, 300, b});
  CHECK(t.encode("a<|x|>yb") == std::vector<token_id>{a, 301, b});
  CHECK(t.encode("a  [L]b") == std::vector<token_id>{a, 302, b});
  CHECK(t.encode("a[R]  b") == std::vector<token_id>{a, 303, b});
  CHECK(t.encode("<|x|") == t.encode("<|x|", false));  // no partial matches

  // "dog" only as a word of its own.
  auto want = t.encode("hotdogs ", false);
  want.push_back(304);
  CHECK(t.encode("hotdogs dog") == want);
  CHECK(t.vocab_size() == 305);
  CHECK(t.is_special(300));
  CHECK_FALSE(t.is_special(304));

  const std::vector<token_id> ids{a, 300, 304, b};
  CHECK(t.decode(ids) == "a<|x|>dogb");
  CHECK(t.decode(ids, {.skip_special_tokens = true, .clean_up_spaces = std::nullopt}) == "adogb");
}

TEST_CASE("clean-up of spaces follows tokenizer_config.json", "[text]") {
  const json j = byte_level({});
  const Tokenizer plain(j, json::object());  // absent: true, as the reference has it
  const auto ids = plain.encode("Hi , you 're here .");
  CHECK(plain.decode(ids) == "Hi, you're here.");
  CHECK(plain.decode(ids, {.skip_special_tokens = false, .clean_up_spaces = false}) ==
        "Hi , you 're here .");
  const Tokenizer off(j, json{{"clean_up_tokenization_spaces", false}});
  CHECK(off.decode(ids) == "Hi , you 're here .");
}

TEST_CASE("Split pre-tokenizer: each delimiter behaviour, and inverted patterns", "[text]") {
  const auto with = [](const char* behavior) {
    return json{{"type", "Split"},
                {"pattern", {{"String", "-"}}},
                {"behavior", behavior},
                {"invert", false}};
  };
  const std::string s = "the-final--countdown";
  using V = std::vector<std::string>;
  CHECK(split(with("Removed"), s) == V{"the", "final", "countdown"});
  CHECK(split(with("Isolated"), s) == V{"the", "-", "final", "-", "-", "countdown"});
  CHECK(split(with("MergedWithPrevious"), s) == V{"the-", "final-", "-", "countdown"});
  CHECK(split(with("MergedWithNext"), s) == V{"the", "-final", "-", "-countdown"});
  CHECK(split(with("Contiguous"), s) == V{"the", "-", "final", "--", "countdown"});
  const json words{{"type", "Split"},
                   {"pattern", {{"Regex", "\\w+"}}},
                   {"behavior", "Removed"},
                   {"invert", true}};
  CHECK(split(words, s) == V{"the", "final", "countdown"});
  // Oniguruma's Unicode classes and lookahead, as in Llama-3's pattern.
  const json llama3{{"type", "Split"},
                    {"pattern", {{"Regex", "\\p{N}{1,3}| ?\\p{L}+|\\s+(?!\\S)|\\s+"}}},
                    {"behavior", "Isolated"},
                    {"invert", false}};
  CHECK(split(llama3, "año 12345  ünd") == V{"año", " ", "123", "45", " ", " ünd"});
}

TEST_CASE("Metaspace: ▁ for spaces, prepended always, first or never", "[text]") {
  using V = std::vector<std::string>;
  const auto meta = [](const char* scheme) {
    return json{{"type", "Metaspace"},
                {"replacement", "\u2581"},
                {"prepend_scheme", scheme},
                {"split", true}};
  };
  CHECK(split(meta("always"), "Hey friend!") == V{"\u2581Hey", "\u2581friend!"});
  CHECK(split(meta("never"), "Hey friend!") == V{"Hey", "\u2581friend!"});
  CHECK(split(meta("first"), "Hey friend!") == V{"\u2581Hey", "\u2581friend!"});
  const auto first = samba::text::make_pre_tokenizer(meta("first"));
  std::vector<samba::text::Piece> later{{"Hey", false}};
  first->split(later);
  CHECK(later[0].text == "Hey");

  const auto decoder = samba::text::make_decoder(
      json{{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}});
  std::vector<std::string> tokens{"\u2581Hey", "\u2581friend!"};
  std::vector<bool> added(2, false);
  decoder->decode(tokens, added);
  CHECK(tokens == V{"Hey", " friend!"});
}

TEST_CASE("normalizers: Unicode forms, Prepend, Replace and Strip", "[text]") {
  const auto norm = [](const json& j, const std::string& s) {
    return samba::text::make_normalizer(j)->normalize(s);
  };
  CHECK(norm({{"type", "NFC"}}, "e\u0301") == "\u00E9");
  CHECK(norm({{"type", "NFD"}}, "\u00E9") == "e\u0301");
  CHECK(norm({{"type", "NFKC"}}, "\uFB01 \uFF21\u2460") == "fi A1");
  CHECK(norm({{"type", "Prepend"}, {"prepend", "\u2581"}}, "a") == "\u2581a");
  CHECK(norm({{"type", "Prepend"}, {"prepend", "\u2581"}}, "").empty());
  CHECK(norm({{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}},
             "a  b     c") == "a b c");
  CHECK(norm({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}},
             "\u3000 a b\n\u00A0") == "a b");
}

TEST_CASE("tokenizer files that are wrong get one clear error", "[text]") {
  const auto fails = [](json j, const std::string& what) {
    CHECK_THROWS_WITH(Tokenizer(j, json::object()), Contains(what));
  };
  json j = byte_level({});
  j["normalizer"] = {{"type", "Lowercase"}};
  fails(j, "normalizer type \"Lowercase\" is not supported");
  j = byte_level({});
  j["model"]["type"] = "WordPiece";
  fails(j, "model type \"WordPiece\" is not supported");
  j = byte_level({});
  j["model"]["merges"] = {"x \u4E2D"};
  fails(j, "merges[0]");
  j = byte_level({});
  j["model"]["merges"] = {"a b c"};
  fails(j, "is not two tokens");
  j = byte_level({});
  j["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  fails(j, "does not compile");
  j = byte_level({});
  j["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", "Sideways"}};
  fails(j, "behavior \"Sideways\"");
  j = byte_level({});
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", {{{"SpecialToken", {{"id", "<s>"}}}}, {{"Sequence", {{"id", "A"}}}}}},
      {"special_tokens", json::object()}};
  fails(j, "names \"<s>\"");
  j = byte_level({});
  j["added_tokens"] = {{{"id", 1}, {"content", ""}}};
  fails(j, "empty content");
  fails(json{{"model", {{"type", "BPE"}, {"vocab", {{"a", -1}}}}}}, "must be an id");

  const Tokenizer t(byte_level({}), json::object());
  CHECK_THROWS_WITH(t.decode(std::vector<token_id>{7, 256}),
                    Contains("id 256 is not in the vocabulary"));
  DecodeStream stream(t);
  CHECK_THROWS_WITH(stream.push(-1), Contains("id -1 is not in the vocabulary"));
}

TEST_CASE("Tokenizer::from_directory reads tokenizer.json and tokenizer_config.json", "[text]") {
  const auto dir = std::filesystem::temp_directory_path() / "samba_text_tests_dir";
  std::filesystem::remove_all(dir);
  CHECK_THROWS_WITH(Tokenizer::from_directory(dir), Contains("has no tokenizer.json"));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << "{ not json";
  CHECK_THROWS_WITH(Tokenizer::from_directory(dir), Contains("is not valid JSON"));
  json j = byte_level({});
  j["added_tokens"] = {{{"id", 256}, {"content", "<eos>"}, {"special", true}}};
  std::ofstream(dir / "tokenizer.json") << j.dump();
  std::ofstream(dir / "tokenizer_config.json")
      << json{{"eos_token", {{"content", "<eos>"}}}}.dump();
  const Tokenizer t = Tokenizer::from_directory(dir);
  CHECK(t.eos_id() == 256);
  CHECK_FALSE(t.bos_id().has_value());
  std::ofstream(dir / "tokenizer_config.json") << json{{"bos_token", "<missing>"}}.dump();
  CHECK_THROWS_WITH(Tokenizer::from_directory(dir),
                    Contains("\"<missing>\" is not in the vocabulary"));
  std::filesystem::remove_all(dir);
}

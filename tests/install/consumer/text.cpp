// A program that uses samba's tokenizer as a user would: one include, one link
// (samba::tokenizer), text to ids and back with the 40-token tokenizer of tests/text/data/tiny.
// Exits non-zero if the ids are not the ones its merges define or the text does not come back.
#include <samba/text/tokenizer.hpp>

#include <cstdio>
#include <vector>

int main() try {
  const auto tokenizer = samba::Tokenizer::from_directory(TINY_TOKENIZER_DIR);
  // <s>, ▁the, ▁ c a t, ▁ s a t, "." (tests/text/make_tiny.py).
  const std::vector<samba::token_id> want{1, 34, 3, 6, 4, 23, 3, 22, 4, 23, 30};
  const auto ids = tokenizer.encode("the cat sat.");
  const std::string text = tokenizer.decode(ids, {.skip_special_tokens = true});
  if (ids != want || text != "the cat sat.") {
    std::fprintf(stderr, "samba consumer: the tokenizer gave %zu ids and '%s'\n", ids.size(),
                 text.c_str());
    return 1;
  }
  std::printf("samba consumer: %zu ids, '%s'\n", ids.size(), text.c_str());
  return 0;
} catch (const samba::error& e) {
  std::fprintf(stderr, "samba consumer: %s\n", e.what());
  return 1;
}

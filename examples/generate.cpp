// Generates text from a checkpoint: the smallest complete use of load_model, Tokenizer, Session,
// Sampler and DecodeStream, with a forked continuation decoded in the same batch.
//
//   samba_generate DIR "prompt" [n] [TOKENIZER_DIR]
//
// DIR: config.json + *.safetensors (+ tokenizer.json, unless TOKENIZER_DIR holds it), e.g.
// samba_generate tests/model/data/samba_f32 "the cat sat." 32 tests/text/data/tiny
// (built where samba::tokenizer is: Oniguruma and utf8proc installed).
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <samba/samba.hpp>
#include <samba/text/tokenizer.hpp>

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CHECKPOINT_DIR PROMPT [n_tokens] [TOKENIZER_DIR]\n", argv[0]);
    return 2;
  }
  const int n = argc > 3 ? std::atoi(argv[3]) : 32;
  auto model = samba::load_model(argv[1]);  // shared, immutable, thread-safe
  const auto tokenizer = samba::Tokenizer::from_directory(argc > 4 ? argv[4] : argv[1]);
  std::printf("%s: %s, %s\n", model->info().family.c_str(), model->info().pattern.c_str(),
              model->info().dims.c_str());

  samba::Session session(model);  // one sequence; keeps the model alive
  const std::vector<std::int32_t> prompt = tokenizer.encode(argv[2]);  // with its <s> / BOS
  session.prefill(prompt, /*chunk=*/4);

  samba::Sampler sampler({.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .seed = 1});
  samba::DecodeStream text(tokenizer);  // prints each character once its last byte is in
  text.follow(prompt);                  // what it prints continues the prompt
  // Sample only ids the tokenizer can print (a model's head may be wider than its vocabulary).
  const auto printable = static_cast<std::size_t>(
      std::min<std::int64_t>(model->info().vocab_size, tokenizer.vocab_size()));
  std::printf("%s", argv[2]);
  for (int i = 0; i < n; ++i) {
    const std::int32_t id =
        sampler.sample(session.logits().first(printable), session.recent_tokens());
    if (id == tokenizer.eos_id()) break;  // the end-of-sequence token
    std::printf("%s", text.push(id).c_str());
    std::fflush(stdout);
    session.decode(id);
  }
  std::printf("%s\nstate after %lld tokens: %zu bytes\n", text.flush().c_str(),
              static_cast<long long>(session.position()), session.state_bytes());

  // Prefix caching: fork the session, then decode both in one batch.
  samba::Session fork = session.fork();
  samba::Session* batch[] = {&session, &fork};
  samba::Session::decode_batch(batch, std::array<std::int32_t, 2>{7, 9});
  std::printf("batched step: positions %lld and %lld\n", static_cast<long long>(session.position()),
              static_cast<long long>(fork.position()));
  return 0;
} catch (const samba::error& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}

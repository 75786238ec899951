#include <filesystem>
#include <thread>

#include "support.hpp"

using namespace samba;

namespace {

const std::filesystem::path data_dir = SAMBA_MODEL_DATA_DIR;

std::vector<std::int32_t> tokens(index_t n, index_t vocab, std::uint64_t seed) {
  Random rng(seed);
  std::vector<std::int32_t> t(static_cast<std::size_t>(n));
  for (auto& v : t) v = static_cast<std::int32_t>(rng.next() % static_cast<std::uint64_t>(vocab));
  return t;
}

}  // namespace

TEST_CASE("Session: chunked prefill, token-by-token decode and forks agree", "[model][session]") {
  const auto model = load_model(data_dir / "samba_f32");
  const index_t vocab = model->info().vocab_size;
  const auto prompt = tokens(40, vocab, 1);
  Session whole(model), chunked(model), stepped(model);
  whole.prefill(prompt, 1000);
  index_t calls = 0;
  chunked.prefill(prompt, 7, [&](index_t done, index_t total) {
    ++calls;
    CHECK(total == 40);
    CHECK(done <= total);
  });
  CHECK(calls == 6);
  for (auto t : prompt) stepped.decode(t);
  CHECK(whole.position() == 40);
  CHECK(test::rel_error(chunked.logits(), whole.logits()) < 1e-5);
  CHECK(test::rel_error(stepped.logits(), whole.logits()) < 1e-5);

  // A fork continues exactly like the original; restoring rewinds.
  Session fork = whole.fork();
  const auto more = tokens(9, vocab, 2);
  for (auto t : more) {
    whole.decode(t);
    fork.decode(t);
  }
  CHECK(test::rel_error(fork.logits(), whole.logits()) == 0.0);
  Session snapshot = chunked;  // at position 40
  chunked.decode(3);
  chunked.restore(snapshot);
  CHECK(chunked.position() == 40);
  Session fresh(model);
  CHECK_THROWS_WITH(fresh.restore(Session(load_model(data_dir / "samba_f32"))),
                    Catch::Contains("snapshot of another model"));
}

TEST_CASE("Session: batched decode equals each session decoded alone, sessions join and leave",
          "[model][session][batch]") {
  const auto name =
      GENERATE("samba_bf16", "llama_f32", "mistral_f32", "mamba_f32", "phi4flash_bf16");
  INFO(name);
  const auto model = load_model(data_dir / name);
  const index_t vocab = model->info().vocab_size;
  std::vector<Session> alone, batched;
  for (int i = 0; i < 4; ++i) {
    Session s(model);
    s.prefill(tokens(5 + 7 * i, vocab, 10 + static_cast<std::uint64_t>(i)),
              4);  // different lengths
    alone.push_back(s);
    batched.push_back(s.fork());
  }
  // Step k runs the sessions whose bit is set in masks[k].
  const int masks[] = {0b1111, 0b0101, 0b1110, 0b1000, 0b0011, 0b1111};
  Random rng(3);
  for (int mask : masks) {
    std::vector<Session*> members;
    std::vector<std::int32_t> step_tokens;
    for (int i = 0; i < 4; ++i)
      if (mask & (1 << i)) {
        const auto t = static_cast<std::int32_t>(rng.next() % static_cast<std::uint64_t>(vocab));
        alone[static_cast<std::size_t>(i)].decode(t);
        members.push_back(&batched[static_cast<std::size_t>(i)]);
        step_tokens.push_back(t);
      }
    Session::decode_batch(members, step_tokens);
  }
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(batched[i].position() == alone[i].position());
    CHECK(test::rel_error(batched[i].logits(), alone[i].logits()) < 1e-5);
  }
  Session other(load_model(data_dir / name));
  other.prefill(tokens(3, vocab, 1));
  Session* mixed[] = {&batched[0], &other};
  const std::int32_t two[] = {1, 2};
  CHECK_THROWS_WITH(Session::decode_batch(mixed, two), Catch::Contains("runs another model"));
  Session* null_first[] = {nullptr, &batched[0]};
  CHECK_THROWS_WITH(Session::decode_batch(null_first, two), Catch::Contains("session 0 is null"));
  Session* null_second[] = {&batched[0], nullptr};
  CHECK_THROWS_WITH(Session::decode_batch(null_second, two), Catch::Contains("session 1 is null"));
  Session* twice[] = {&batched[1], &batched[1]};
  CHECK_THROWS_WITH(Session::decode_batch(twice, two), Catch::Contains("share one state"));
  CHECK(batched[1].position() == alone[1].position());  // nothing ran
}

TEST_CASE("Session: streaming generation past 100x the window in constant memory",
          "[model][session][stream]") {
  // samba_f32 has a window of 6 tokens: 700 generated tokens is > 100 windows.
  const auto samba = load_model(data_dir / "samba_f32");
  Session s(samba);
  s.prefill(tokens(20, samba->info().vocab_size, 4));
  SamplingParams p;
  p.seed = 9;
  Sampler sampler(p);
  const std::size_t bytes_after_prompt = s.state_bytes();
  index_t generated = 0;
  s.generate(sampler, 700, [&](std::int32_t t) {
    CHECK(t >= 0);
    CHECK(t < samba->info().vocab_size);  // never a padding column of the head
    ++generated;
    if (generated % 100 == 0) CHECK(s.state_bytes() == bytes_after_prompt);
    return true;
  });
  CHECK(generated == 700);
  CHECK(s.position() == 720);
  for (float v : s.logits()) REQUIRE(std::isfinite(v));

  // The Transformer baseline's cache grows instead.
  const auto llama = load_model(data_dir / "llama_f32");
  Session l(llama);
  l.prefill(tokens(20, llama->info().vocab_size, 4));
  const std::size_t llama_start = l.state_bytes();
  Sampler greedy(SamplingParams{0.0f});
  l.generate(greedy, 300, [](std::int32_t) { return true; });
  CHECK(l.state_bytes() > 8 * llama_start);
  // on_token returning false stops generation.
  index_t seen = 0;
  l.generate(greedy, 50, [&](std::int32_t) { return ++seen < 3; });
  CHECK(seen == 3);
}

TEST_CASE("Session keeps its model alive and rejects bad tokens", "[model][session]") {
  auto model = load_model(data_dir / "mamba_f32");
  const index_t vocab = model->info().vocab_size;
  Session s(model);
  model.reset();  // the session's shared reference keeps the model
  s.prefill(tokens(10, vocab, 1));
  CHECK(s.position() == 10);
  CHECK_THROWS_WITH(s.decode(static_cast<std::int32_t>(vocab)),
                    Catch::Contains("token id " + std::to_string(vocab) +
                                    " at index 0 is outside the vocabulary"));
  CHECK_THROWS_WITH(s.decode(-1), Catch::Contains("outside the vocabulary"));
  CHECK(s.position() == 10);  // nothing ran
  CHECK_THROWS_WITH(s.prefill(tokens(3, vocab, 1), 0), Catch::Contains("chunk size must be > 0"));
  Session empty(s.model_ptr());
  Sampler sampler(SamplingParams{});
  CHECK_THROWS_WITH(empty.generate(sampler, 3, [](std::int32_t) { return true; }),
                    Catch::Contains("needs a prompt first"));
}

TEST_CASE("one loaded model serves sessions on several threads", "[model][session][threads]") {
  const auto model = load_model(data_dir / "samba_bf16");
  const index_t vocab = model->info().vocab_size;
  constexpr int n_threads = 4;
  std::vector<std::vector<float>> expected(n_threads), got(n_threads);
  for (int i = 0; i < n_threads; ++i) {
    Session s(model);
    s.prefill(tokens(30 + i, vocab, 70 + static_cast<std::uint64_t>(i)), 8);
    expected[static_cast<std::size_t>(i)].assign(s.logits().begin(), s.logits().end());
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < n_threads; ++i)
    threads.emplace_back([&, i] {
      Session s(model);
      s.prefill(tokens(30 + i, vocab, 70 + static_cast<std::uint64_t>(i)), 8);
      got[static_cast<std::size_t>(i)].assign(s.logits().begin(), s.logits().end());
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < n_threads; ++i)
    CHECK(got[static_cast<std::size_t>(i)] == expected[static_cast<std::size_t>(i)]);
}

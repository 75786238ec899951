// Generates text ids from a checkpoint: the smallest complete use of load_model, Session and
// Sampler, with a forked continuation decoded in the same batch.
//
//   samba_generate DIR [n]      (DIR: config.json + safetensors, e.g. tests/model/data/samba_f32)
#include <array>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <samba/samba.hpp>

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CHECKPOINT_DIR [n_tokens]\n", argv[0]);
    return 2;
  }
  const int n = argc > 2 ? std::atoi(argv[2]) : 32;
  auto model = samba::load_model(argv[1]);  // shared, immutable, thread-safe
  std::printf("%s: %s, %s\n", model->info().family.c_str(), model->info().pattern.c_str(),
              model->info().dims.c_str());

  samba::Session session(model);  // one sequence; keeps the model alive
  const std::vector<std::int32_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8};
  session.prefill(prompt, /*chunk=*/4);

  samba::Sampler sampler({.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .seed = 1});
  session.generate(sampler, n, [](std::int32_t id) {
    std::printf("%d ", id);
    return true;
  });
  std::printf("\nstate after %lld tokens: %zu bytes\n", static_cast<long long>(session.position()),
              session.state_bytes());

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
